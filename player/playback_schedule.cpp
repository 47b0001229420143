// player/playback_schedule.cpp — what is in force: the schedule resolved
// at trusted now, ONE timer at its next change, and the v1.1 §12 turns of
// tied contents (see playback.h).
#include "player/playback.h"

#include "player/logging.h"
#include "player/timer_ms.h"
#include "schedule/engine.h"
#include "schedule/timing.h"

#include <algorithm>

namespace stoa::player {

QString Playback::joined(const std::vector<std::string> &names)
{
    QStringList list;
    for (const auto &n : names)
        list << QString::fromStdString(n);
    return list.join(QStringLiteral(", "));
}

Playback::InForce Playback::inForce(const schedule::NowPlaying &np) const
{
    if (!np.contents.empty() && np.contents.front().kind == schedule::ContentKind::Layout)
        return {np.contents.front().name, {}};
    return {std::nullopt, np.playlists};
}

bool Playback::takesTurns(const std::vector<schedule::ContentRef> &contents)
{
    return contents.size() > 1 && std::ranges::any_of(contents, [](const schedule::ContentRef &c) {
               return c.kind == schedule::ContentKind::Layout;
           });
}

Playback::InForce Playback::turnInForce(const std::vector<schedule::ContentRef> &contents, std::size_t i)
{
    if (i >= contents.size())
        return {};
    if (contents[i].kind == schedule::ContentKind::Layout)
        return {contents[i].name, {}};
    // The full screen goes round every tied playlist (its picker keeps their
    // places): each playlist turn is its next item.
    InForce out;
    for (const auto &c : contents)
        if (c.kind == schedule::ContentKind::Playlist)
            out.playlists.push_back(c.name);
    return out;
}

std::size_t Playback::nextTurn(const std::vector<schedule::ContentRef> &contents, std::size_t i) const
{
    const std::size_t n = contents.size();
    if (n == 0 || !m_manifest)
        return 0;
    const std::size_t from = i >= n ? n - 1 : i;
    for (std::size_t k = 1; k <= n; ++k) {
        const std::size_t j = (from + k) % n;
        // v1.1 §12: a layout whose every region is empty gives its turn away.
        if (contents[j].kind == schedule::ContentKind::Playlist ||
            schedule::layoutTurnMs(*m_manifest, contents[j].name) > 0)
            return j;
    }
    return i >= n ? 0 : i;
}

Playback::InForce Playback::firstInForce(const schedule::NowPlaying &np) const
{
    if (!takesTurns(np.contents))
        return inForce(np);
    return turnInForce(np.contents, nextTurn(np.contents, std::size_t(-1)));
}

void Playback::resolveAndArm()
{
    m_scheduleTimer.stop();
    m_scheduleChangeMono.reset();
    if (!m_manifest) {
        m_inForce = {};
        m_contents.clear();
        m_turnEndMono.reset();
        armTurn();
        return;
    }
    const QDateTime now = m_clock.now().utc;
    // A new sample: a floor raised by an adopted manifest's issued_at is
    // resolved here already, not a jump to report.
    m_trustedSample = std::pair(now.toMSecsSinceEpoch(), monoNow());
    const auto np = schedule::resolveNowPlaying(*m_manifest, now);
    if (np.contents != m_contents || m_contents.empty()) {
        // Other contents start afresh with the first turn.
        m_contents = np.contents;
        m_turn = nextTurn(m_contents, std::size_t(-1));
        m_turnEndMono.reset();
        m_givenAway = 0;
        if (turnsTaken()) {
            m_inForce = turnInForce(m_contents, m_turn);
            if (m_inForce.layout)
                m_turnEndMono = monoNow() + schedule::layoutTurnMs(*m_manifest, *m_inForce.layout);
        } else {
            m_inForce = inForce(np);
        }
    }
    if (np.nextChange) {
        const std::int64_t delay = std::clamp<std::int64_t>(now.msecsTo(*np.nextChange), 0, kMaxTimerMs);
        m_scheduleChangeMono = monoNow() + delay;
        m_scheduleTimer.start(int(delay));
    }
    armTurn();
}

void Playback::armTurn()
{
    m_turnTimer.stop();
    m_nextChangeMono = m_scheduleChangeMono;
    m_upcoming = m_inForce;
    if (m_scheduleChangeMono && m_manifest) {
        const QDateTime at = m_clock.now().utc.addMSecs(*m_scheduleChangeMono - monoNow());
        const auto np = schedule::resolveNowPlaying(*m_manifest, at);
        if (np.contents != m_contents)
            m_upcoming = firstInForce(np);
    }
    if (turnsTaken() && m_turnEndMono && (!m_scheduleChangeMono || *m_turnEndMono < *m_scheduleChangeMono)) {
        m_nextChangeMono = m_turnEndMono;
        m_upcoming = turnInForce(m_contents, nextTurn(m_contents, m_turn));
        // A layout's turn ends by this timer; a playlist's with its item (itemOver).
        if (m_inForce.layout)
            m_turnTimer.start(timerMs(*m_turnEndMono - monoNow()));
    }
    armStage();
}

void Playback::advanceTurn()
{
    if (!turnsTaken() || !m_manifest)
        return;
    const InForce before = m_inForce;
    m_turn = nextTurn(m_contents, m_turn);
    m_inForce = turnInForce(m_contents, m_turn);
    m_turnEndMono.reset();
    if (m_inForce.layout)
        m_turnEndMono = monoNow() + schedule::layoutTurnMs(*m_manifest, *m_inForce.layout);
    armTurn();
    if (m_inForce == before)
        return;
    if (m_inForce.layout)
        qCInfo(lcPlayer, "turn: now layout %s for %lld ms", m_inForce.layout->c_str(),
               static_cast<long long>(*m_turnEndMono - monoNow()));
    else
        qCInfo(lcPlayer, "turn: now [%s], one item", qPrintable(joined(m_inForce.playlists)));
    apply(false);
}

void Playback::fullScreenItemOver()
{
    // A playlist's turn is one item: it is over with it.
    if (turnsTaken() && !m_inForce.layout)
        advanceTurn();
}

void Playback::onScheduleTimer()
{
    const InForce before = m_inForce;
    resolveAndArm();
    if (m_inForce == before)
        return;
    if (m_inForce.layout)
        qCInfo(lcPlayer, "schedule boundary: now layout %s", m_inForce.layout->c_str());
    else
        qCInfo(lcPlayer, "schedule boundary: now [%s]", qPrintable(joined(m_inForce.playlists)));
    apply(false);
}

} // namespace stoa::player
