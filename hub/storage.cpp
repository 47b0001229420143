#include "hub/storage.h"

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

} // namespace stoa::hub
