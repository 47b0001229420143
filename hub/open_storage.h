// hub/open_storage.h — the storage a `--database` URL names.
//
// Job: pick the backend (storage.h's interface) from the URL, so callers
// depend on the interface and this one file on both implementations (the
// interface itself knows neither).
#pragma once

#include "hub/storage.h"

#include <memory>
#include <string>

namespace stoa::hub {

// Empty → SQLite at DATA_DIR/hub.db; "sqlite:PATH" → SQLite at PATH;
// "postgresql://…" or "postgres://…" → PostgreSQL. Does not migrate.
StorageResult<std::unique_ptr<Storage>> openStorage(const std::string &databaseUrl, const std::string &dataDir);

} // namespace stoa::hub
