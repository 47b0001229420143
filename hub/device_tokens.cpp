#include "hub/device_tokens.h"

#include "hub/logging.h"

#include <cstring>

namespace stoa::hub {

std::size_t DeviceTokens::DigestHash::operator()(const Digest &d) const noexcept
{
    // A SHA-256 is uniformly distributed already.
    std::size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
}

std::optional<DeviceTokens::Digest> DeviceTokens::fromHex(std::string_view hex)
{
    if (hex.size() != 64)
        return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        return -1;
    };
    Digest out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return out;
}

DeviceTokens::DeviceTokens(Storage &storage, std::chrono::milliseconds refreshInterval)
    : storage_(storage), interval_(refreshInterval)
{
}

DeviceTokens::~DeviceTokens() { stop(); }

void DeviceTokens::start()
{
    if (auto r = refresh(); !r)
        qCWarning(lcHub).noquote() << "device tokens: not loaded yet (asking the database per request):"
                                   << r.error().message.c_str();
    std::lock_guard lock(threadMutex_);
    if (thread_.joinable())
        return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void DeviceTokens::stop()
{
    {
        std::lock_guard lock(threadMutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void DeviceTokens::changed()
{
    // On the caller's thread: the operator who revoked a token expects the
    // next request to be refused, not one a second later.
    if (auto r = refresh(); !r)
        qCWarning(lcHub).noquote() << "device tokens: refresh failed:" << r.error().message.c_str();
}

void DeviceTokens::run()
{
    std::unique_lock lock(threadMutex_);
    bool failing = false;
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
        lock.unlock();
        const auto r = refresh();
        if (!r && !failing)
            qCWarning(lcHub).noquote() << "device tokens: refresh failed (keeping what was loaded):"
                                       << r.error().message.c_str();
        else if (r && failing)
            qCInfo(lcHub) << "device tokens: refreshing again";
        failing = !r;
        lock.lock();
    }
}

StorageResult<void> DeviceTokens::refresh()
{
    std::lock_guard serial(refreshMutex_);
    std::int64_t after;
    {
        std::shared_lock read(mapMutex_);
        after = version_;
    }
    auto changes = storage_.credentialsSince(after);
    if (!changes)
        return std::unexpected(changes.error());
    std::unique_lock write(mapMutex_);
    for (auto &c : *changes) {
        if (auto old = byDevice_.find(c.deviceId); old != byDevice_.end()) {
            byHash_.erase(old->second);
            byDevice_.erase(old);
        }
        if (const auto digest = fromHex(c.tokenHash)) {
            byHash_[*digest] = Entry{c.deviceId, c.revoked};
            byDevice_.emplace(std::move(c.deviceId), *digest);
        }
        version_ = std::max(version_, c.version);
    }
    if (version_ < 0)
        version_ = 0; // loaded, even when empty: later rows have versions >= 1
    loaded_ = true;
    return {};
}

DeviceTokens::Lookup DeviceTokens::lookup(std::string_view tokenHashHex) const
{
    const auto digest = fromHex(tokenHashHex);
    if (!digest)
        return {};
    std::shared_lock read(mapMutex_);
    const auto it = byHash_.find(*digest);
    if (it == byHash_.end())
        return {};
    if (it->second.revoked)
        return {Lookup::Kind::Revoked, {}};
    return {Lookup::Kind::Device, it->second.deviceId};
}

std::size_t DeviceTokens::size() const
{
    std::shared_lock read(mapMutex_);
    return byHash_.size();
}

bool DeviceTokens::loaded() const
{
    std::shared_lock read(mapMutex_);
    return loaded_;
}

} // namespace stoa::hub
