// cache/file_hash.h — the SHA-256 of a file on disk, in bounded memory.
//
// The hashing itself is schedule::Sha256 (the tree's one implementation);
// this adds only the store's way of reading a file (1 MiB buffer, sequential
// read-ahead, errors as cache::Error).
#pragma once

#include "cache/error.h"
#include "schedule/digest.h"

#include <filesystem>

namespace stoa::cache {

Result<schedule::Digest> sha256File(const std::filesystem::path &path);

} // namespace stoa::cache
