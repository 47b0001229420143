// cache/sync_status.cpp — SyncStatus to and from its JSON in the store's kv.
#include "cache/sync_status.h"

#include "cache/kv.h"

#include <QJsonDocument>

namespace stoa::cache {

namespace {
QString q(const std::string &s) { return QString::fromStdString(s); }
std::string s(const QJsonObject &o, const char *k) { return o.value(k).toString().toStdString(); }
} // namespace

QJsonObject SyncStatus::toJson() const
{
    return QJsonObject{
        {"server", q(server)},
        {"state", q(state)},
        {"last_attempt_at_ms", qint64(lastAttemptAtMs)},
        {"last_result", q(lastResult)},
        {"last_success_at_ms", qint64(lastSuccessAtMs)},
        {"last_error", q(lastError)},
        {"consecutive_failures", consecutiveFailures},
        {"backoff_s", backoffSeconds},
        {"next_attempt_at_ms", qint64(nextAttemptAtMs)},
        {"active_version", qint64(activeVersion)},
        {"active_signer_revoked", activeSignerRevoked},
        {"staged_version", qint64(stagedVersion)},
        {"staged_blobs_missing", stagedBlobsMissing},
        {"staged_bytes_missing", qint64(stagedBytesMissing)},
        {"bytes_downloaded", qint64(bytesDownloaded)},
        {"download_error", q(downloadError)},
        {"staged_blocked", stagedBlocked ? QJsonValue(QJsonObject{{"reason", q(stagedBlocked->reason)},
                                                                  {"message", q(stagedBlocked->message)},
                                                                  {"since_ms", qint64(stagedBlocked->sinceMs)}})
                                         : QJsonValue()},
        {"keys", q(keys)},
        {"heartbeat", q(heartbeat)},
        {"plays", q(plays)},
    };
}

SyncStatus SyncStatus::fromJson(const QJsonObject &o)
{
    SyncStatus st;
    st.server = s(o, "server");
    st.state = s(o, "state");
    st.lastAttemptAtMs = o.value("last_attempt_at_ms").toInteger();
    st.lastResult = s(o, "last_result");
    st.lastSuccessAtMs = o.value("last_success_at_ms").toInteger();
    st.lastError = s(o, "last_error");
    st.consecutiveFailures = o.value("consecutive_failures").toInt();
    st.backoffSeconds = o.value("backoff_s").toDouble();
    st.nextAttemptAtMs = o.value("next_attempt_at_ms").toInteger();
    st.activeVersion = o.value("active_version").toInteger();
    st.activeSignerRevoked = o.value("active_signer_revoked").toBool();
    st.stagedVersion = o.value("staged_version").toInteger();
    st.stagedBlobsMissing = o.value("staged_blobs_missing").toInt();
    st.stagedBytesMissing = std::uint64_t(o.value("staged_bytes_missing").toInteger());
    st.bytesDownloaded = std::uint64_t(o.value("bytes_downloaded").toInteger());
    st.downloadError = s(o, "download_error");
    if (const QJsonObject b = o.value("staged_blocked").toObject(); !b.isEmpty())
        st.stagedBlocked = StagedBlock{s(b, "reason"), s(b, "message"), b.value("since_ms").toInteger()};
    st.keys = s(o, "keys");
    st.heartbeat = s(o, "heartbeat");
    st.plays = s(o, "plays");
    return st;
}

std::optional<SyncStatus> readSyncStatus(KeyValue &kv)
{
    auto raw = kv.get(kSyncStatusKey);
    if (!raw || !*raw)
        return std::nullopt;
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray::fromStdString(**raw));
    if (!doc.isObject())
        return std::nullopt;
    return SyncStatus::fromJson(doc.object());
}

} // namespace stoa::cache
