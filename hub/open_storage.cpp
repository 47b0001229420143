// hub/open_storage.cpp — openStorage (open_storage.h).
#include "hub/open_storage.h"

#include "hub/postgres_storage.h"
#include "hub/sqlite_storage.h"

namespace stoa::hub {

StorageResult<std::unique_ptr<Storage>> openStorage(const std::string &databaseUrl, const std::string &dataDir)
{
    if (databaseUrl.starts_with("postgresql://") || databaseUrl.starts_with("postgres://")) {
        auto pg = PostgresStorage::open(databaseUrl);
        if (!pg)
            return std::unexpected(pg.error());
        return std::unique_ptr<Storage>(std::move(*pg));
    }
    if (!databaseUrl.empty() && !databaseUrl.starts_with("sqlite:"))
        return std::unexpected(StorageError{StorageError::Code::Invalid,
                                            "--database must be a postgresql:// URL or sqlite:PATH, not " + databaseUrl});
    const std::string path = databaseUrl.empty() ? dataDir + "/hub.db" : databaseUrl.substr(7);
    auto lite = SqliteStorage::open(path);
    if (!lite)
        return std::unexpected(lite.error());
    return std::unique_ptr<Storage>(std::move(*lite));
}

} // namespace stoa::hub
