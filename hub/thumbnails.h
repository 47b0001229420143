// hub/thumbnails.h — thumbnails of the library's videos: a frame grabbed
// with GStreamer (the device's own media stack), for the console's content
// page (GET /api/v1/media/NAME/thumbnail, docs/hub-api.md).
//
// Job: turn a video into a small JPEG (320 px wide, the video's aspect) on
// one worker thread of its own, never on an HTTP thread, and keep it in
// DATA/thumbnails/HEX.jpg, named by the video's SHA-256, so a replaced
// video gets a new one and an unchanged one is never decoded twice.
// Invariants:
//  - at most one decode at a time and at most `queueMax` waiting (more are
//    dropped and asked for again by the next look-up): a library of large
//    videos cannot pile up decoders;
//  - a decode that does not bring a frame within `timeout` is abandoned;
//    a file that cannot be decoded (corrupt, an unknown codec, a timeout)
//    is logged once with the reason and recorded as HEX.failed, so the
//    console keeps its icon and the hub does not try again (until the
//    video's bytes, and so its digest, change);
//  - disk use follows the library: the hub's retention pass prunes the
//    files of videos replaced or removed (prune());
//  - images have no thumbnail file: the console shows the image itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace stoa::hub {

class Thumbnails {
public:
    struct Options {
        std::string dir;                                 // DATA/thumbnails
        int width = 320;
        std::chrono::milliseconds timeout{20000};        // one decode, start to frame
        std::size_t queueMax = 64;
    };
    explicit Thumbnails(Options options);
    ~Thumbnails(); // stops the worker (a decode under way finishes first)
    Thumbnails(const Thumbnails &) = delete;
    Thumbnails &operator=(const Thumbnails &) = delete;

    enum class State { Ready, Pending, Failed };
    struct Lookup {
        State state = State::Pending;
        std::string file;    // Ready: the JPEG
        std::string reason;  // Failed: why
    };
    // The thumbnail of the video `path` whose SHA-256 is `hex`; asks for
    // one (Pending) when none was made or tried.
    Lookup get(const std::string &hex, const std::string &path);
    // Asks for one ahead of the first look-up (a finished upload).
    void request(const std::string &hex, const std::string &path);
    // Removes the thumbnails (and failure records) of videos no longer in
    // the library (`keep`: the library's digests), older than `graceMs` (a
    // video being stored now may be missing from `keep`); how many.
    int prune(const std::set<std::string> &keep, std::int64_t graceMs = 10 * 60 * 1000);

private:
    void run();
    std::string file(const std::string &hex, const char *ext) const;

    const Options options_;
    std::mutex mutex_;                     // guards everything below
    std::condition_variable wake_;
    std::deque<std::pair<std::string, std::string>> queue_; // (hex, path)
    std::set<std::string> queued_;         // hexes queued or being decoded
    bool stop_ = false;
    std::thread worker_;                   // started by the first request
};

} // namespace stoa::hub
