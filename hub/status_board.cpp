#include "hub/status_board.h"

#include <QDateTime>

namespace stoa::hub {
namespace {

constexpr std::size_t kIncidents = 20;

std::int64_t wallMs() { return QDateTime::currentMSecsSinceEpoch(); }

std::string when(std::int64_t ms)
{
    return ms ? QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString("yyyy-MM-dd HH:mm:ss 'UTC'").toStdString()
              : std::string("—");
}

std::string escaped(const std::string &text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

} // namespace

const char *partStateName(PartState state)
{
    switch (state) {
    case PartState::Up: return "up";
    case PartState::Degraded: return "degraded";
    case PartState::Down: return "down";
    case PartState::Off: return "off";
    }
    return "?";
}

StatusBoard::StatusBoard(std::string hubName, Probe probe, std::chrono::milliseconds interval)
    : hubName_(std::move(hubName)), probe_(std::move(probe)), interval_(interval), startedMs_(wallMs())
{
}

StatusBoard::~StatusBoard() { stop(); }

void StatusBoard::start()
{
    sampleNow();
    std::lock_guard lock(mutex_);
    if (thread_.joinable())
        return;
    stopping_ = false;
    thread_ = std::thread([this] {
        std::unique_lock held(mutex_);
        while (!wake_.wait_for(held, interval_, [this] { return stopping_; })) {
            held.unlock();
            sampleNow();
            held.lock();
        }
    });
}

void StatusBoard::stop()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
        thread_.join();
}

void StatusBoard::sampleNow()
{
    const auto parts = probe_(); // outside the lock: a probe may take a while
    record(parts, wallMs());
}

void StatusBoard::record(const std::vector<PartSample> &parts, std::int64_t nowMs)
{
    std::lock_guard lock(mutex_);
    std::vector<std::int64_t> since(parts.size(), nowMs);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const PartSample *before = nullptr;
        std::size_t j = 0;
        for (; j < parts_.size(); ++j)
            if (parts_[j].name == parts[i].name) {
                before = &parts_[j];
                break;
            }
        const PartState was = before ? before->state : PartState::Up;
        const PartState is = parts[i].state;
        if (before && was == is) {
            since[i] = since_[j];
            continue;
        }
        if (!before && (is == PartState::Up || is == PartState::Off)) {
            since[i] = startedMs_;
            continue;
        }
        const bool wasBad = was == PartState::Down || was == PartState::Degraded;
        const bool isBad = is == PartState::Down || is == PartState::Degraded;
        if (wasBad) // the open incident of this part ends (or changes kind)
            for (auto &incident : incidents_)
                if (incident.part == parts[i].name && incident.endedMs == 0)
                    incident.endedMs = nowMs;
        if (isBad) {
            incidents_.push_front({parts[i].name, is, nowMs, 0});
            if (incidents_.size() > kIncidents)
                incidents_.pop_back();
        }
    }
    parts_ = parts;
    since_ = std::move(since);
    sampledMs_ = nowMs;
}

std::vector<StatusBoard::Incident> StatusBoard::incidents() const
{
    std::lock_guard lock(mutex_);
    return {incidents_.begin(), incidents_.end()};
}

std::string StatusBoard::html() const
{
    std::lock_guard lock(mutex_);
    bool allUp = true;
    for (const auto &p : parts_)
        allUp = allUp && (p.state == PartState::Up || p.state == PartState::Off);
    std::string out =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"refresh\" content=\"30\">"
        "<title>Status: " + escaped(hubName_) + "</title><style>"
        "body{font:16px/1.5 system-ui,sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#111}"
        "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4em;border-bottom:1px solid #ddd}"
        ".up{color:#116b2d}.degraded{color:#8a5a00}.down{color:#a4161a;font-weight:bold}.off{color:#555}"
        "</style></head><body>\n<h1>" + escaped(hubName_) + "</h1>\n<p id=\"overall\" class=\""
        + (allUp ? "up\">&#10004; All systems up" : "down\">&#9888; Some parts are not up") + "</p>\n"
        "<table id=\"parts\"><tr><th>Part</th><th>State</th><th>Since</th></tr>\n";
    for (std::size_t i = 0; i < parts_.size(); ++i) {
        const auto &p = parts_[i];
        const std::string state = partStateName(p.state);
        out += "<tr><td>" + escaped(p.name) + "</td><td class=\"" + state + "\">" + state
               + (p.detail.empty() ? std::string() : " (" + escaped(p.detail) + ")") + "</td><td>" + when(since_[i])
               + "</td></tr>\n";
    }
    out += "</table>\n<h2>Recent incidents</h2>\n";
    if (incidents_.empty()) {
        out += "<p id=\"incidents\">None since this hub started (" + when(startedMs_) + ").</p>\n";
    } else {
        out += "<table id=\"incidents\"><tr><th>Part</th><th>State</th><th>From</th><th>Until</th></tr>\n";
        for (const auto &incident : incidents_)
            out += "<tr><td>" + escaped(incident.part) + "</td><td>" + partStateName(incident.state) + "</td><td>"
                   + when(incident.startedMs) + "</td><td>"
                   + (incident.endedMs ? when(incident.endedMs) : std::string("ongoing")) + "</td></tr>\n";
        out += "</table>\n";
    }
    out += "<p><small>Checked " + when(sampledMs_) + "; this page refreshes every 30 s. Each hub replica shows "
           "its own view since it started.</small></p>\n</body></html>\n";
    return out;
}

} // namespace stoa::hub
