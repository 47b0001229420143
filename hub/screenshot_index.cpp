// hub/screenshot_index.cpp — the latest screenshot per device (screenshot_index.h).
#include "hub/screenshot_index.h"

#include "schedule/digest.h"

#include <QByteArray>

#include <filesystem>
#include <fstream>
#include <system_error>

namespace stoa::hub {

void recordLatestScreenshot(const std::string &dataDir, const std::string &deviceId, const std::string &sha256Hex)
{
    namespace fs = std::filesystem;
    const fs::path dir = fs::path(dataDir) / "screenshots" / "latest";
    std::error_code ec;
    fs::create_directories(dir, ec);
    // A temporary name per writer thread's device: two uploads of the same
    // device are serialised by its ingest writer, so they never share it.
    const fs::path tmp = dir / ("." + deviceId + ".tmp");
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << sha256Hex << '\n';
        if (!out)
            return; // at worst the page shows the previous screenshot
    }
    fs::rename(tmp, dir / deviceId, ec);
}

std::optional<std::string> latestScreenshot(const std::string &dataDir, const std::string &deviceId)
{
    std::ifstream in(std::filesystem::path(dataDir) / "screenshots" / "latest" / deviceId);
    std::string hex;
    if (!(in >> hex) || !schedule::Digest::fromHex(hex))
        return std::nullopt;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::filesystem::path(dataDir) / "screenshots" / (hex + ".jpg"), ec))
        return std::nullopt;
    return hex;
}

} // namespace stoa::hub
