#include "hub/notifier.h"

#include "hub/logging.h"

#include <curl/curl.h>

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>

extern char **environ;

namespace stoa::hub {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t steadyMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

QString when(std::int64_t wallMs)
{
    return QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC).toString(Qt::ISODate);
}

std::string compact(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString();
}

// Header lines of a message must not carry a line break from a name.
std::string oneLine(std::string s)
{
    std::replace_if(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
    return s;
}

std::size_t discardBody(char *, std::size_t size, std::size_t n, void *) { return size * n; }

} // namespace

Notifier::Notifier(NotifyOptions options, Snapshot snapshot)
    : options_(std::move(options)), snapshot_(std::move(snapshot)), watch_(options_.watch)
{
}

Notifier::~Notifier() { stop(); }

void Notifier::start()
{
    if (!options_.enabled() || watcher_.joinable())
        return;
    sender_ = std::thread([this] { sendLoop(); });
    watcher_ = std::thread([this] { watchLoop(); });
    qCInfo(lcHub).noquote() << "notifications:" << (options_.webhookUrl.empty() ? "" : "webhook")
                            << (options_.emailTo.empty() ? "" : "e-mail") << "every"
                            << options_.checkMs / 1000.0 << "s, held" << options_.watch.holdMs / 1000.0 << "s";
}

void Notifier::stop()
{
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            return;
        stopping_ = true;
    }
    watchWake_.notify_all();
    wake_.notify_all();
    if (watcher_.joinable())
        watcher_.join();
    if (sender_.joinable())
        sender_.join();
}

NotifyStats Notifier::stats() const
{
    std::lock_guard lock(mutex_);
    NotifyStats s = stats_;
    s.queued = queue_.size();
    return s;
}

void Notifier::enqueue(Message message)
{
    auto shared = std::make_shared<const Message>(std::move(message));
    std::vector<Channel> channels;
    if (!options_.webhookUrl.empty())
        channels.push_back(Channel::Webhook);
    if (!options_.emailTo.empty())
        channels.push_back(Channel::Email);
    {
        std::lock_guard lock(mutex_);
        for (const auto channel : channels) {
            if (queue_.size() >= options_.maxQueued) {
                ++stats_.dropped;
                qCWarning(lcHub).noquote() << "notifications: queue full; dropped a" << queue_.front().message->kind.c_str()
                                           << "message";
                queue_.pop_front();
            }
            queue_.push_back({shared, channel, 0, Clock::now()});
        }
    }
    wake_.notify_all();
}

void Notifier::watchLoop()
{
    auto nextAlive = Clock::now() + std::chrono::milliseconds(options_.aliveMs);
    int lastDigestDay = -1;
    std::unique_lock lock(mutex_);
    // The first "still alive" goes out at start: a receiver learns at once
    // that this hub notifies, and from which name.
    bool aliveNow = options_.aliveMs > 0;
    while (!stopping_) {
        lock.unlock();
        const auto fleet = snapshot_();
        if (fleet) {
            const std::int64_t steadyNow = steadyMs();
            const std::int64_t wallNow = QDateTime::currentMSecsSinceEpoch();
            for (const auto &e : watch_.observe(*fleet, steadyNow)) {
                qCInfo(lcHub).noquote() << "notify:" << eventName(e.kind) << e.subject.c_str();
                enqueue(eventMessage(e, wallNow, steadyNow));
            }
            const QDateTime utc = QDateTime::currentDateTimeUtc();
            const int today = static_cast<int>(utc.date().toJulianDay());
            if (options_.digestHourUtc >= 0 && utc.time().hour() == options_.digestHourUtc && lastDigestDay != today) {
                lastDigestDay = today;
                enqueue(digestMessage(*fleet, watch_.takeSuppressed()));
            }
        }
        if (aliveNow || (options_.aliveMs > 0 && Clock::now() >= nextAlive)) {
            aliveNow = false;
            nextAlive = Clock::now() + std::chrono::milliseconds(options_.aliveMs);
            enqueue(aliveMessage(fleet ? &*fleet : nullptr));
        }
        lock.lock();
        watchWake_.wait_for(lock, std::chrono::milliseconds(options_.checkMs), [this] { return stopping_; });
    }
}

void Notifier::sendLoop()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        if (queue_.empty()) {
            if (stopping_)
                return;
            wake_.wait(lock);
            continue;
        }
        // The delivery due first; at stop, everything is due (one last try).
        auto next = std::min_element(queue_.begin(), queue_.end(),
                                     [](const Delivery &a, const Delivery &b) { return a.due < b.due; });
        if (!stopping_ && next->due > Clock::now()) {
            wake_.wait_until(lock, next->due);
            continue;
        }
        Delivery d = std::move(*next);
        queue_.erase(next);
        lock.unlock();
        std::string why;
        const bool ok = deliver(d, why);
        lock.lock();
        if (ok) {
            ++stats_.delivered;
            continue;
        }
        ++stats_.failedTries;
        ++d.attempts;
        const char *channel = d.channel == Channel::Webhook ? "webhook" : "e-mail";
        if (d.attempts >= options_.maxAttempts || stopping_) {
            ++stats_.dropped;
            qCWarning(lcHub).noquote() << "notifications:" << channel << "gave up on a" << d.message->kind.c_str()
                                       << "message after" << d.attempts << "tries:" << why.c_str();
            continue;
        }
        const std::int64_t wait = std::min(options_.retryMaxMs, options_.retryFirstMs << std::min(d.attempts - 1, 20));
        qCWarning(lcHub).noquote() << "notifications:" << channel << "failed (" << why.c_str() << "); try"
                                   << d.attempts + 1 << "in" << wait / 1000.0 << "s";
        d.due = Clock::now() + std::chrono::milliseconds(wait);
        queue_.push_back(std::move(d));
    }
}

bool Notifier::deliver(const Delivery &d, std::string &why) const
{
    return d.channel == Channel::Webhook ? postWebhook(*d.message, why) : sendMail(*d.message, why);
}

bool Notifier::postWebhook(const Message &m, std::string &why) const
{
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) {
        why = "libcurl could not start";
        return false;
    }
    curl_slist *headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl.get(), CURLOPT_URL, options_.webhookUrl.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, m.json.data());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(m.json.size()));
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeoutMs));
    curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "stoa-hub/" STOA_VERSION);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &discardBody);
    const CURLcode rc = curl_easy_perform(curl.get());
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        why = curl_easy_strerror(rc);
        return false;
    }
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        why = "the receiver answered " + std::to_string(status);
        return false;
    }
    return true;
}

bool Notifier::sendMail(const Message &m, std::string &why) const
{
    std::string mail = "From: " + oneLine(options_.emailFrom) + "\nTo: ";
    for (std::size_t i = 0; i < options_.emailTo.size(); ++i)
        mail += (i ? ", " : "") + oneLine(options_.emailTo[i]);
    mail += "\nSubject: " + oneLine(m.subject) + "\nContent-Type: text/plain; charset=utf-8\nX-Stoa-Event: " + m.kind
            + "\n\n" + m.text + "\n";

    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) {
        why = std::string("pipe: ") + std::strerror(errno);
        return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    const std::string program = options_.sendmail;
    std::string t = "-t", oi = "-oi";
    char *argv[] = {const_cast<char *>(program.c_str()), t.data(), oi.data(), nullptr};
    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    if (spawned != 0) {
        ::close(in[1]);
        why = "cannot run " + program + ": " + std::strerror(spawned);
        return false;
    }
    // A pidfd lets the wait have a deadline: a hung sendmail is killed.
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.timeoutMs);
    bool written = true;
    for (std::size_t off = 0; off < mail.size();) {
        const ssize_t n = ::write(in[1], mail.data() + off, mail.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            written = false;
            break;
        }
        off += static_cast<std::size_t>(n);
    }
    ::close(in[1]);
    int status = 0;
    bool exited = false;
    while (!exited) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            break;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0 || pidfd < 0)
            break;
        pollfd p{pidfd, POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left));
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    if (pidfd >= 0)
        ::close(pidfd);
    if (!exited) {
        why = program + " did not finish within " + std::to_string(options_.timeoutMs) + " ms";
        return false;
    }
    if (!written || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        why = program + (written ? " exited with " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1)
                                 : std::string(" did not take the message"));
        return false;
    }
    return true;
}

Notifier::Message Notifier::eventMessage(const FleetEvent &e, std::int64_t wallNowMs, std::int64_t steadyNowMs) const
{
    const std::int64_t sinceWall = wallNowMs - (steadyNowMs - e.sinceMs);
    QJsonObject o{{"event", eventName(e.kind)}, {"hub", QString::fromStdString(options_.hubName)},
                  {"at", when(wallNowMs)}, {"since", when(sinceWall)}};
    Message m;
    m.kind = eventName(e.kind);
    const std::string subject = e.subject;
    switch (e.kind) {
    case FleetEvent::Kind::DeviceOffline:
    case FleetEvent::Kind::DeviceBack: {
        const bool offline = e.kind == FleetEvent::Kind::DeviceOffline;
        o.insert("device", QString::fromStdString(subject));
        o.insert("last_seen_at", e.lastSeenMs ? QJsonValue(when(*e.lastSeenMs)) : QJsonValue());
        m.subject = "[" + options_.hubName + "] " + (offline ? "OFFLINE: device " : "back: device ") + subject;
        m.text = (offline ? "Device " + subject + " has not been heard from since "
                          : "Device " + subject + " is reporting again (since ")
                 + (e.lastSeenMs && offline ? when(*e.lastSeenMs).toStdString() : when(sinceWall).toStdString())
                 + (offline ? "." : ").");
        break;
    }
    case FleetEvent::Kind::GroupOffline:
    case FleetEvent::Kind::GroupBack: {
        const bool offline = e.kind == FleetEvent::Kind::GroupOffline;
        o.insert("group", QString::fromStdString(subject));
        o.insert("offline", e.offline);
        o.insert("total", e.total);
        m.subject = "[" + options_.hubName + "] " + (offline ? "OFFLINE: group " : "back: group ") + subject + " ("
                    + std::to_string(e.offline) + " of " + std::to_string(e.total) + " offline)";
        m.text = "Group " + subject + ": " + std::to_string(e.offline) + " of " + std::to_string(e.total)
                 + " devices offline" + (offline ? "." : "; back under the threshold.");
        break;
    }
    }
    m.json = compact(o);
    return m;
}

Notifier::Message Notifier::aliveMessage(const std::vector<WatchedDevice> *fleet) const
{
    const std::int64_t now = QDateTime::currentMSecsSinceEpoch();
    QJsonObject o{{"event", "alive"}, {"hub", QString::fromStdString(options_.hubName)}, {"at", when(now)},
                  {"next_within_s", static_cast<double>(options_.aliveMs) / 1000.0}};
    Message m;
    m.kind = "alive";
    m.subject = "[" + options_.hubName + "] still alive";
    m.text = "The hub " + options_.hubName + " is running and notifying. The next such message comes within "
             + std::to_string(options_.aliveMs / 1000) + " s; if none does, notifications have stopped.";
    if (fleet) {
        int online = 0;
        for (const auto &d : *fleet)
            online += d.online ? 1 : 0;
        o.insert("devices", static_cast<int>(fleet->size()));
        o.insert("online", online);
    } else {
        o.insert("database", "unavailable");
        m.text += " The database cannot be read right now.";
    }
    m.json = compact(o);
    return m;
}

Notifier::Message Notifier::digestMessage(const std::vector<WatchedDevice> &fleet, std::int64_t suppressed) const
{
    const std::int64_t now = QDateTime::currentMSecsSinceEpoch();
    int online = 0, never = 0;
    for (const auto &d : fleet) {
        online += d.online ? 1 : 0;
        never += d.lastSeenMs ? 0 : 1;
    }
    const auto offline = watch_.offlineDevices();
    QJsonArray list;
    std::string lines;
    for (std::size_t i = 0; i < offline.size() && i < 100; ++i) {
        list.append(QString::fromStdString(offline[i]));
        lines += "  " + offline[i] + "\n";
    }
    if (offline.size() > 100)
        lines += "  … and " + std::to_string(offline.size() - 100) + " more\n";
    QJsonObject o{{"event", "digest"}, {"hub", QString::fromStdString(options_.hubName)}, {"at", when(now)},
                  {"devices", static_cast<int>(fleet.size())}, {"online", online}, {"never_seen", never},
                  {"offline", static_cast<int>(offline.size())}, {"offline_devices", list},
                  {"flaps_withheld", static_cast<qint64>(suppressed)}};
    Message m;
    m.kind = "digest";
    m.subject = "[" + options_.hubName + "] daily digest: " + std::to_string(offline.size()) + " offline of "
                + std::to_string(fleet.size());
    m.text = std::to_string(fleet.size()) + " devices: " + std::to_string(online) + " online, "
             + std::to_string(offline.size()) + " offline, " + std::to_string(never) + " never seen.\n"
             + (offline.empty() ? std::string() : "Offline:\n" + lines)
             + (suppressed ? std::to_string(suppressed) + " offline notices were withheld for flapping devices.\n"
                           : std::string());
    m.json = compact(o);
    return m;
}

} // namespace stoa::hub
