// hub/routes.cpp — the route table (routes.h): a request's kind from its
// method and path alone, before any credential or body is looked at.
// Invariant: a path segment that names something (a device id, a digest, a
// console file) is checked here, so no handler sees an unchecked name.
#include "hub/routes.h"

#include "hub/upload_store.h"

#include "schedule/digest.h"
#include "schedule/identifiers.h"

#include <vector>

namespace stoa::hub {
namespace {

std::vector<std::string_view> split(std::string_view path)
{
    std::vector<std::string_view> parts;
    if (!path.starts_with('/'))
        return parts;
    path.remove_prefix(1);
    while (true) {
        const auto slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos)
            break;
        path.remove_prefix(slash + 1);
    }
    return parts;
}

Route make(Route::Kind kind, const char *label, std::string_view method, const char *allow,
           std::string_view device = {})
{
    Route r;
    r.label = label;
    r.deviceId = std::string(device);
    r.allow = allow;
    const bool get = std::string_view(allow).find("GET") != std::string_view::npos;
    const bool methodOk = std::string_view(allow) == method || (get && (method == "GET" || method == "HEAD"));
    r.kind = methodOk ? kind : Route::Kind::MethodNotAllowed;
    return r;
}

} // namespace

Route classify(std::string_view method, std::string_view path)
{
    const auto p = split(path);
    const auto n = p.size();
    if (n == 1 && p[0] == "healthz")
        return make(Route::Kind::Healthz, "healthz", method, "GET, HEAD");
    if (n == 1 && p[0] == "metrics")
        return make(Route::Kind::Metrics, "metrics", method, "GET, HEAD");
    if (n == 1 && p[0] == "status-page")
        return make(Route::Kind::StatusPage, "status_page", method, "GET, HEAD");
    // The console: "/" and "/console" lead to "/console/"; below it, files
    // whose names the console handler checks again (console_files.h).
    if ((n == 1 && p[0].empty()) || (n == 1 && p[0] == "console"))
        return make(Route::Kind::ConsoleRoot, "console", method, "GET, HEAD");
    if (n >= 2 && p[0] == "console") {
        auto r = make(Route::Kind::Console, "console", method, "GET, HEAD");
        r.name = std::string(path.substr(std::string_view("/console/").size()));
        return r;
    }

    if (n >= 2 && p[0] == "v1") {
        if (n == 2 && p[1] == "keys.json")
            return make(Route::Kind::Keys, "keys", method, "GET, HEAD");
        if (n == 2 && p[1] == "manifest.json")
            return make(Route::Kind::FleetManifest, "fleet_manifest", method, "GET, HEAD");
        if (n == 4 && p[1] == "blobs" && p[2] == "sha256") {
            if (auto digest = schedule::Digest::fromHex(p[3])) {
                auto r = make(Route::Kind::Blob, "blob", method, "GET, HEAD");
                r.digest = std::move(digest);
                return r;
            }
        }
        if (n == 4 && p[1] == "devices" && schedule::isDeviceId(p[2])) {
            if (p[3] == "manifest.json")
                return make(Route::Kind::DeviceManifest, "device_manifest", method, "GET, HEAD", p[2]);
            if (p[3] == "status")
                return make(Route::Kind::Status, "status", method, "POST", p[2]);
            if (p[3] == "plays")
                return make(Route::Kind::Plays, "plays", method, "POST", p[2]);
            if (p[3] == "screenshot")
                return make(Route::Kind::Screenshot, "screenshot", method, "PUT", p[2]);
            if (p[3] == "wake")
                return make(Route::Kind::Wake, "wake", method, "GET, HEAD", p[2]);
        }
    }

    if (n >= 3 && p[0] == "api" && p[1] == "v1") {
        if (n == 3 && p[2] == "login")
            return make(Route::Kind::ApiLogin, "api_login", method, "POST");
        if (n == 3 && p[2] == "logout")
            return make(Route::Kind::ApiLogout, "api_logout", method, "POST");
        if (n == 3 && p[2] == "whoami")
            return make(Route::Kind::ApiWhoami, "api_whoami", method, "GET, HEAD");
        if (n == 3 && p[2] == "devices") {
            if (method == "POST")
                return make(Route::Kind::ApiDeviceAdd, "api_device_add", method, "POST");
            return make(Route::Kind::ApiDevices, "api_devices", method, "GET, HEAD, POST");
        }
        if (p[2] == "devices" && n >= 4 && schedule::isDeviceId(p[3])) {
            if (n == 4)
                return make(Route::Kind::ApiDevice, "api_device", method, "GET, HEAD", p[3]);
            if (n == 5 && p[4] == "revoke")
                return make(Route::Kind::ApiDeviceRevoke, "api_device_revoke", method, "POST", p[3]);
            if (n == 5 && p[4] == "token")
                return make(Route::Kind::ApiDeviceToken, "api_device_token", method, "POST", p[3]);
            if (n == 5 && p[4] == "plays")
                return make(Route::Kind::ApiDevicePlays, "api_device_plays", method, "GET, HEAD", p[3]);
            if (n == 5 && p[4] == "history")
                return make(Route::Kind::ApiDeviceHistory, "api_device_history", method, "GET, HEAD", p[3]);
            if (n == 5 && p[4] == "online")
                return make(Route::Kind::ApiDeviceOnline, "api_device_online", method, "GET, HEAD", p[3]);
            if (n == 5 && p[4] == "group")
                return make(Route::Kind::ApiDeviceGroup, "api_device_group", method, "PUT", p[3]);
            if (n == 5 && p[4] == "tags")
                return make(Route::Kind::ApiDeviceTags, "api_device_tags", method, "PUT", p[3]);
            if (n == 5 && p[4] == "screenshot")
                return make(Route::Kind::ApiDeviceScreenshot, "api_device_screenshot", method, "GET, HEAD", p[3]);
            if (n == 5 && p[4] == "commands") {
                if (method == "POST")
                    return make(Route::Kind::ApiCommandsPost, "api_commands_post", method, "POST", p[3]);
                return make(Route::Kind::ApiCommandsGet, "api_commands", method, "GET, HEAD, POST", p[3]);
            }
        }
        if (n == 3 && p[2] == "media")
            return make(Route::Kind::ApiMediaList, "api_media", method, "GET, HEAD");
        if (n == 4 && p[2] == "media" && !p[3].empty()) {
            Route r;
            if (method == "PUT")
                r = make(Route::Kind::ApiMediaPut, "api_media_put", method, "PUT");
            else if (method == "DELETE")
                r = make(Route::Kind::ApiMediaDelete, "api_media_delete", method, "DELETE");
            else
                r = make(Route::Kind::ApiMediaGet, "api_media_get", method, "GET, HEAD, PUT, DELETE");
            r.name = std::string(p[3]);
            return r;
        }
        if (n == 5 && p[2] == "media" && !p[3].empty() && p[4] == "thumbnail") {
            auto r = make(Route::Kind::ApiMediaThumbnail, "api_media_thumbnail", method, "GET, HEAD");
            r.name = std::string(p[3]);
            return r;
        }
        if (n == 3 && p[2] == "uploads")
            return make(Route::Kind::ApiUploadCreate, "api_upload_create", method, "POST");
        if (n >= 4 && n <= 5 && p[2] == "uploads" && isUploadId(p[3])) {
            Route r;
            if (n == 5 && p[4] == "complete")
                r = make(Route::Kind::ApiUploadComplete, "api_upload_complete", method, "POST");
            else if (n == 5)
                return Route{};
            else if (method == "PUT")
                r = make(Route::Kind::ApiUploadChunk, "api_upload_chunk", method, "PUT");
            else if (method == "DELETE")
                r = make(Route::Kind::ApiUploadDelete, "api_upload_delete", method, "DELETE");
            else
                r = make(Route::Kind::ApiUploadGet, "api_upload", method, "GET, HEAD, PUT, DELETE");
            r.name = std::string(p[3]);
            return r;
        }
        if (n == 3 && p[2] == "publication")
            return make(Route::Kind::ApiPublication, "api_publication", method, "GET, HEAD");
        if (n == 3 && p[2] == "plays")
            return make(Route::Kind::ApiPlaysReport, "api_plays", method, "GET, HEAD");
        if (n == 3 && p[2] == "audit")
            return make(Route::Kind::ApiAudit, "api_audit", method, "GET, HEAD");
        // …/layouts[/NAME] and …/playlists/NAME after a schedule's target.
        const std::size_t base = n >= 5 && p[2] == "schedules" && p[3] == "fleet" ? 4
                                 : n >= 6 && p[2] == "schedules" && (p[3] == "devices" || p[3] == "groups")
                                           && schedule::isDeviceId(p[4]) ? 5 : 0;
        if (base && p[base] == "layouts" && (n == base + 1 || (n == base + 2 && schedule::isDeviceId(p[base + 1])))) {
            Route r;
            if (n == base + 1)
                r = make(Route::Kind::ApiLayoutList, "api_layouts", method, "GET, HEAD");
            else if (method == "PUT")
                r = make(Route::Kind::ApiLayoutPut, "api_layout_put", method, "PUT");
            else if (method == "DELETE")
                r = make(Route::Kind::ApiLayoutDelete, "api_layout_delete", method, "DELETE");
            else
                r = make(Route::Kind::ApiLayoutGet, "api_layout", method, "GET, HEAD, PUT, DELETE");
            r.name = base == 4 ? std::string("fleet") : std::string(p[3]) + "/" + std::string(p[4]);
            if (n == base + 2)
                r.part = std::string(p[base + 1]);
            return r;
        }
        if (base && n == base + 2 && p[base] == "playlists" && schedule::isDeviceId(p[base + 1])) {
            auto r = make(Route::Kind::ApiPlaylistDelete, "api_playlist_delete", method, "DELETE");
            r.name = base == 4 ? std::string("fleet") : std::string(p[3]) + "/" + std::string(p[4]);
            r.part = std::string(p[base + 1]);
            return r;
        }
        // …/preview and …/week after a schedule's target.
        const bool fleetSub = n == 5 && p[2] == "schedules" && p[3] == "fleet";
        const bool deviceSub = n == 6 && p[2] == "schedules" && (p[3] == "devices" || p[3] == "groups") && schedule::isDeviceId(p[4]);
        if ((fleetSub || deviceSub) && (p[n - 1] == "preview" || p[n - 1] == "week")) {
            auto r = p[n - 1] == "preview" ? make(Route::Kind::ApiSchedulePreview, "api_schedule_preview", method, "POST")
                                           : make(Route::Kind::ApiScheduleWeek, "api_schedule_week", method, "GET, HEAD");
            r.name = fleetSub ? std::string("fleet") : std::string(p[3]) + "/" + std::string(p[4]);
            return r;
        }
        const bool fleet = n == 4 && p[2] == "schedules" && p[3] == "fleet";
        const bool device = n == 5 && p[2] == "schedules" && (p[3] == "devices" || p[3] == "groups") && schedule::isDeviceId(p[4]);
        if (fleet || device) {
            Route r;
            if (method == "PUT")
                r = make(Route::Kind::ApiSchedulePut, "api_schedule_put", method, "PUT");
            else if (method == "DELETE" && device)
                r = make(Route::Kind::ApiScheduleDelete, "api_schedule_delete", method, "DELETE");
            else
                r = make(Route::Kind::ApiScheduleGet, "api_schedule", method, device ? "GET, HEAD, PUT, DELETE" : "GET, HEAD, PUT");
            r.name = fleet ? std::string("fleet") : std::string(p[3]) + "/" + std::string(p[4]);
            return r;
        }
        if (n == 3 && p[2] == "keys")
            return make(Route::Kind::ApiKeysPut, "api_keys_put", method, "PUT");
        if (n == 3 && p[2] == "signing-key")
            return make(Route::Kind::ApiSigningKey, "api_signing_key", method, "GET, HEAD");
    }
    return Route{};
}

} // namespace stoa::hub
