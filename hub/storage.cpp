#include "hub/storage.h"

#include "hub/postgres_storage.h"
#include "hub/sqlite_storage.h"

namespace stoa::hub {

const char *roleName(Role role)
{
    switch (role) {
    case Role::Admin: return "admin";
    case Role::Editor: return "editor";
    case Role::Viewer: return "viewer";
    }
    return "viewer";
}

std::optional<Role> roleFromName(const std::string &name)
{
    if (name == "admin")
        return Role::Admin;
    if (name == "editor")
        return Role::Editor;
    if (name == "viewer")
        return Role::Viewer;
    return std::nullopt;
}

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
