// player/display_control.cpp — display window and commands (see display_control.h).
#include "player/display_control.h"

#include "player/logging.h"
#include "player/timer_ms.h"
#include "schedule/engine.h"

#include <algorithm>
#include <exception>
#include <utility>

namespace stoa::player {

namespace {

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
    m_thread.setObjectName(QStringLiteral("display-power"));
    m_worker.moveToThread(&m_thread);
    m_thread.start();
    m_flipTimer.setSingleShot(true);
    m_flipTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_flipTimer, &QTimer::timeout, this, &DisplayControl::onFlipTimer);
    connect(&m_playback, &Playback::manifestChanged, this, [this] {
        if (m_started)
            resolve(false, "new manifest");
    });
    // Its flip timer was armed from trusted time, which a wall-clock set moved.
    connect(&m_playback, &Playback::trustedTimeJumped, this, [this] {
        if (m_started)
            resolve(false, "clock set");
    });
}

DisplayControl::~DisplayControl()
{
    // A switch in progress finishes (bounded by the method's timeout); its
    // queued outcome is dropped with this object, and no other is sent.
    m_thread.quit();
    m_thread.wait();
}

void DisplayControl::start()
{
    m_started = true;
    qCInfo(lcPlayer, "display power: method %s (switched on its own thread)", qPrintable(m_power.method()));
    resolve(true, "start");
}

void DisplayControl::command(bool on, CommandDone done)
{
    ask(Switch{on, "command", true, std::move(done)});
    emit stateChanged();
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
    if (commandPending()) {
        // The command's outcome decides whether an override holds: the
        // schedule waits for it (onSwitched runs this resolve then).
        m_deferred = std::pair(force || (m_deferred && m_deferred->first), why);
    } else {
        // Schedule switches not yet on the worker are superseded by this one.
        while (m_switches.size() > 1 && !m_switches.back().command)
            m_switches.pop_back();
        if (force || lastAsked() != m_wanted)
            ask(Switch{m_wanted, why, false, {}});
    }
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
    m_flipTimer.start(timerMs(nowUtc.msecsTo(*m_nextFlipUtc), 1));
}

std::optional<bool> DisplayControl::lastAsked() const
{
    return m_switches.empty() ? m_applied : std::optional(m_switches.back().on);
}

bool DisplayControl::commandPending() const
{
    return std::ranges::any_of(m_switches, &Switch::command);
}

void DisplayControl::ask(Switch s)
{
    m_switches.push_back(std::move(s));
    if (m_switches.size() == 1)
        sendFront();
}

void DisplayControl::sendFront()
{
    const bool on = m_switches.front().on;
    QMetaObject::invokeMethod(
        &m_worker,
        [this, on] {
            // The worker thread: the only place setPower runs.
            std::expected<DisplayPowerReport, std::string> report;
            try {
                report = m_power.setPower(on);
            } catch (const std::exception &e) {
                // Implementations promise not to throw; one that does must
                // not take the worker (and every later switch) with it.
                report = std::unexpected(std::string("display power threw: ") + e.what());
            } catch (...) {
                report = std::unexpected(std::string("display power threw"));
            }
            // Back to the GUI thread; `this` outlives the worker (the
            // destructor joins it first), so the call is dropped, not run,
            // if the object goes before it is delivered.
            QMetaObject::invokeMethod(
                this, [this, report = std::move(report)]() mutable { onSwitched(std::move(report)); },
                Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
}

void DisplayControl::onSwitched(std::expected<DisplayPowerReport, std::string> report)
{
    Switch done = std::move(m_switches.front());
    m_switches.pop_front();
    if (!report) {
        // The screen may be in either state now: the next resolve sets it again.
        m_applied.reset();
        m_lastError = report.error();
        qCWarning(lcPlayer, "display %s (%s) failed: %s; tried again at the next change or command",
                  onOff(done.on), done.why, report.error().c_str());
    } else {
        m_applied = report->on;
        m_lastReport = *report;
        m_lastError.reset();
        qCInfo(lcPlayer, "display %s (%s): %s", onOff(done.on), done.why, qPrintable(report->detail));
    }
    if (!m_switches.empty())
        sendFront();

    if (done.command) {
        if (report)
            m_override = done.on;
        // The override (if any) holds until the window flips next; a resolve
        // skipped while commands were pending runs once the last one is done.
        std::optional<std::pair<bool, const char *>> deferred;
        if (!commandPending())
            deferred = std::exchange(m_deferred, std::nullopt);
        if (report || deferred)
            resolve(deferred && deferred->first, deferred ? deferred->second : "command");
        if (done.done) {
            if (!report) {
                done.done(std::unexpected(report.error()));
            } else {
                const std::string held =
                    m_nextFlipUtc ? "held until the display window's next change at " +
                                        utcText(*m_nextFlipUtc).toStdString()
                                  : std::string("held until the next display command (no display window)");
                done.done(report->detail.toStdString() + "; " + held);
            }
        }
    }
    emit switched();
    emit stateChanged();
}

} // namespace stoa::player
