// hub/routes.h — which route a request is, from its method and path alone.
//
// Job: one table of the hub's routes (docs/hub-api.md), so admission,
// dispatch and metrics agree on what a request is. `label` is the route's
// name in metrics: bounded (never a device id), so /metrics stays small
// whatever the fleet size.
#pragma once

#include "schedule/digest.h"

#include <optional>
#include <string>
#include <string_view>

namespace stoa::hub {

struct Route {
    enum class Kind {
        Healthz, Metrics, StatusPage,
        Console, ConsoleRoot,                         // the operator console's files (docs/console.md); no credential
        Keys, FleetManifest, DeviceManifest, Blob,    // §1 GETs (the site)
        Status, Plays, Screenshot,                    // §5, §6, §1 PUT
        Wake,                                         // v1.1 §10
        ApiLogin,                                     // no credential: it makes one
        ApiWhoami, ApiLogout, ApiDevices, ApiDeviceAdd, ApiDevice, ApiDeviceRevoke, ApiDeviceToken,
        ApiDevicePlays, ApiDeviceHistory, ApiDeviceOnline, ApiDeviceGroup, ApiDeviceTags, ApiDeviceScreenshot,
        ApiMediaList, ApiMediaPut, ApiMediaGet, ApiMediaDelete,
        ApiMediaThumbnail,                            // content_api.cpp: a video's frame (thumbnails.h)
        ApiUploadCreate, ApiUploadGet, ApiUploadChunk, ApiUploadComplete, ApiUploadDelete, // upload_api.cpp: resumable uploads
        ApiScheduleGet, ApiSchedulePut, ApiScheduleDelete, // target: fleet or a device
        ApiSchedulePreview, ApiScheduleWeek,          // content_api.cpp: what a change would do; a week of the engine
        ApiLayoutList, ApiLayoutGet, ApiLayoutPut, ApiLayoutDelete, // layout_api.cpp: one layout of a schedule (§12)
        ApiPlaylistDelete,                            // layout_api.cpp: one playlist of a schedule
        ApiPublication, ApiPlaysReport, ApiAudit,     // content_api.cpp
        ApiCommandsGet, ApiCommandsPost,
        ApiKeysPut, ApiSigningKey,
        NotFound, MethodNotAllowed,
    };
    Kind kind = Kind::NotFound;
    std::string deviceId; // for /v1/devices/{id}/… and /api/v1/devices/{id}…
    std::optional<schedule::Digest> digest; // a blob's name; a screenshot's body (dispatch.cpp)
    std::string name;     // a media name; a schedule's target ("fleet", "devices/ID", "groups/NAME");
                          // a console file's path below /console/ ("" for the page itself)
    std::string part;     // a layout's or playlist's name inside the schedule `name`
    const char *label = "other";
    const char *allow = ""; // the Allow header of a 405

    bool deviceRoute() const { return kind >= Kind::Keys && kind <= Kind::Wake; }
    bool operatorRoute() const { return kind >= Kind::ApiWhoami && kind <= Kind::ApiSigningKey; }
};

Route classify(std::string_view method, std::string_view path);

} // namespace stoa::hub
