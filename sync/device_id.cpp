#include "sync/device_id.h"

#include <fstream>

namespace stoa::sync {

bool isValidDeviceId(const std::string &id)
{
    if (id.empty() || id.size() > 64)
        return false;
    for (char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    return true;
}

std::expected<std::string, std::string> resolveDeviceId(const std::string &configured,
                                                        const std::string &machineIdFile)
{
    if (!configured.empty()) {
        if (!isValidDeviceId(configured))
            return std::unexpected("device id '" + configured + "' is not 1-64 characters of [A-Za-z0-9._-]");
        return configured;
    }
    std::ifstream f(machineIdFile);
    std::string id;
    std::getline(f, id);
    if (!isValidDeviceId(id))
        return std::unexpected("no device id: give --device-id, or provide " + machineIdFile);
    return id;
}

} // namespace stoa::sync
