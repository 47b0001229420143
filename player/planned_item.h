// player/planned_item.h — one playlist item, resolved for playing.
//
// Invariants: kind Image/Video have `source` set to a local file URL of a
// blob that was present when planned; kind Web has `url`, and `source` is
// that URL (what QML loads); kind Text has `text` and no source; kind
// Stream (v1.1 §14) has `url` (the stream's rtsp:// or HLS URL, what play
// records and now playing report, as for a page) and `source` that URL;
// `durationMs` is set for images, texts, web pages and streams; `layout` and
// `region` are both set (an item of a v1.1 §12 region) or both absent (full screen);
// `key` identifies the content (asset name or URL) for the bad-item set;
// `sync` is set only for an item of a synchronised playlist played in step
// (v1.1 §13, trusted clock), with slotStartMs < slotEndMs.
#pragma once

#include "schedule/manifest.h"

#include <QString>
#include <QUrl>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stoa::player {

// Stream: a live stream (v1.1 §14), played by the video engine
// (video_pipeline.h) as a live source: no preroll, no seeking, ended by its
// duration only.
enum class ItemKind { Image, Video, Web, Text, Stream };

struct PlannedItem {
    std::string playlist;                   // where it came from
    std::size_t index = 0;                  // position in that playlist
    ItemKind kind = ItemKind::Image;
    std::optional<std::string> asset;       // asset items: the digest's ref(), the §5/§6 "asset" the status and diagnostics show
    std::optional<QString> url;             // web and stream items: the page's / stream's URL
    std::optional<schedule::TextItem> text; // text items (v1.1 §12)
    QUrl source;                            // file:// of the blob (asset items); the page's / stream's URL
    std::optional<std::int64_t> durationMs; // images, web, streams: always set (default 10000); videos: absent = to the end
    schedule::Fit fit = schedule::Fit::Contain;
    int fadeMs = 0;                         // cross-fade in; 0: a cut on one frame
    std::vector<std::string> playlists;     // the tied playlist set it was drawn for
    std::int64_t manifestVersion = 0;
    std::string key;                        // asset name or URL: what gets marked bad
    std::optional<std::string> layout;      // the layout in force, for an item of one of its regions
    std::optional<std::string> region;      // that region's id
    std::optional<schedule::FractionRect> crop; // v1.1 §13: only this part of the source is shown
    // v1.1 §13: planned for this slot of a synchronised playlist (trusted
    // UTC ms); it comes on screen at slotStartMs, not before (a video then
    // plays from the position trusted now - slotStartMs), and goes at slotEndMs.
    struct SyncSlot {
        std::int64_t slotStartMs = 0;
        std::int64_t slotEndMs = 0;
    };
    std::optional<SyncSlot> sync;
};

QString kindName(ItemKind kind);        // "image", "video", "web", "text", "stream"
QString fitName(schedule::Fit fit);     // "contain", "cover", "stretch"

} // namespace stoa::player
