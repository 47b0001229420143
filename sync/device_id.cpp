#include "sync/device_id.h"

#include "schedule/identifiers.h"

#include <fstream>

namespace stoa::sync {

bool isValidDeviceId(const std::string &id) { return schedule::isDeviceId(QString::fromStdString(id)); }

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
