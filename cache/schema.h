// cache/schema.h — the state.db schema, one migration per user_version step.
//
// Migrations only ever append: step N takes a database at user_version N-1
// to N. Never edit a released step; add a new one.
#pragma once

#include <span>
#include <string_view>

namespace stoa::cache {

// migrations()[i] takes the schema from version i to i+1.
std::span<const std::string_view> migrations();

} // namespace stoa::cache
