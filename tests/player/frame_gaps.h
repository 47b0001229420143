// tests/player/frame_gaps.h — the frame log (player/frame_log.h) read back
// for the tests that check nothing freezes the picture (issue 15): the
// presented frames, the longest gap between them in a span, and the bound
// such a gap must stay within. One definition, so the display-switch and
// store-write tests hold the player to the same bound.
#pragma once

#include <QByteArray>
#include <QFile>
#include <QRegularExpression>
#include <QString>

#include <algorithm>
#include <vector>

namespace stoa::player::testing {

inline constexpr qint64 kFramePeriodUs = 40'000; // the test videos' 25 fps

// The presented frames' timestamps (monotonic us) in the log at `path`, in order.
inline std::vector<qint64> framesOf(const QString &path)
{
    static const QRegularExpression re(QStringLiteral("^(\\d+) frame$"));
    QFile f(path);
    const QByteArray text = f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    std::vector<qint64> out;
    for (const QByteArray &line : text.split('\n')) {
        const auto m = re.match(QString::fromUtf8(line));
        if (m.hasMatch())
            out.push_back(m.captured(1).toLongLong());
    }
    return out;
}

// The longest time without a presented frame in [from, to]: between two
// consecutive frames that reach into that span (a freeze that starts before
// `from` or lasts past `to` counts whole).
inline qint64 longestGap(const std::vector<qint64> &frames, qint64 from, qint64 to)
{
    qint64 longest = 0;
    for (std::size_t i = 1; i < frames.size(); ++i)
        if (frames[i] >= from && frames[i - 1] <= to)
            longest = std::max(longest, frames[i] - frames[i - 1]);
    return longest;
}

// Two frame periods, the bound. On a machine that cannot keep it
// even with nothing going on (a loaded CI runner, the sanitizer build: the
// tests print their baseline), the work under test may add at most one
// period to the machine's own worst gap; a blocked GUI thread fails either.
inline qint64 frameGapLimitUs(qint64 baselineGapUs)
{
    return baselineGapUs > 2 * kFramePeriodUs ? baselineGapUs + kFramePeriodUs : 2 * kFramePeriodUs;
}

} // namespace stoa::player::testing
