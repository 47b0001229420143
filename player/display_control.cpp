// player/display_control.cpp — display window and commands (see display_control.h).
#include "player/display_control.h"

#include "player/logging.h"
#include "schedule/engine.h"

#include <algorithm>

namespace stoa::player {

namespace {

// QTimer takes int milliseconds; a flip further away re-arms when this fires.
constexpr std::int64_t kMaxTimerMs = 24LL * 3600 * 1000;

const char *onOff(bool on)
{
    return on ? "on" : "off";
}

QString utcText(const QDateTime &t)
{
    return t.toUTC().toString(Qt::ISODate);
}

} // namespace

DisplayControl::DisplayControl(Playback &playback, DisplayPower &power, QObject *parent)
    : QObject(parent), m_playback(playback), m_power(power)
{
    m_flipTimer.setSingleShot(true);
    m_flipTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_flipTimer, &QTimer::timeout, this, &DisplayControl::onFlipTimer);
    connect(&m_playback, &Playback::manifestChanged, this, [this] {
        if (m_started)
            resolve(false, "new manifest");
    });
}

void DisplayControl::start()
{
    m_started = true;
    qCInfo(lcPlayer, "display power: method %s", qPrintable(m_power.method()));
    resolve(true, "start");
}

std::expected<std::string, std::string> DisplayControl::command(bool on)
{
    const auto report = apply(on, "command");
    if (!report) {
        emit stateChanged();
        return std::unexpected(report.error());
    }
    m_override = on;
    // The override holds until the window flips next (rules in the header).
    resolve(false, "command");
    std::string held = m_nextFlipUtc ? "held until the display window's next change at " +
                                           utcText(*m_nextFlipUtc).toStdString()
                                     : std::string("held until the next display command (no display window)");
    return report->detail.toStdString() + "; " + held;
}

void DisplayControl::resolve(bool force, const char *why)
{
    const QDateTime now = m_playback.clock().now().utc;
    schedule::DisplayPower window;
    if (const schedule::Manifest *manifest = m_playback.manifest())
        window = schedule::resolveDisplay(*manifest, now);
    m_scheduledOn = window.on;
    m_nextFlipUtc = window.nextChange;
    m_wanted = m_override.value_or(m_scheduledOn);
    if (force || m_applied != m_wanted)
        (void)apply(m_wanted, why);
    arm(now);
    emit stateChanged();
}

void DisplayControl::onFlipTimer()
{
    const QDateTime now = m_playback.clock().now().utc;
    if (m_nextFlipUtc && now < *m_nextFlipUtc) {
        arm(now); // fired early (wall and monotonic clocks drift) or capped at 24 h
        return;
    }
    if (m_override) {
        qCInfo(lcPlayer, "display: the manual %s ends at the window's scheduled change", onOff(*m_override));
        m_override.reset();
    }
    resolve(false, "display window");
}

void DisplayControl::arm(const QDateTime &nowUtc)
{
    m_flipTimer.stop();
    if (!m_nextFlipUtc)
        return;
    // At least 1 ms: an instant not yet reached by a few microseconds must
    // not spin through zero-delay timers.
    m_flipTimer.start(int(std::clamp<std::int64_t>(nowUtc.msecsTo(*m_nextFlipUtc), 1, kMaxTimerMs)));
}

std::expected<DisplayPowerReport, std::string> DisplayControl::apply(bool on, const char *why)
{
    auto report = m_power.setPower(on);
    if (!report) {
        // The screen may be in either state now: the next resolve sets it again.
        m_applied.reset();
        m_lastError = report.error();
        qCWarning(lcPlayer, "display %s (%s) failed: %s; tried again at the next change or command", onOff(on), why,
                  report.error().c_str());
        return report;
    }
    m_applied = report->on;
    m_lastReport = *report;
    m_lastError.reset();
    qCInfo(lcPlayer, "display %s (%s): %s", onOff(on), why, qPrintable(report->detail));
    return report;
}

} // namespace stoa::player
