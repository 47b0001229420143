// tests/schedule/signed_documents.h — signed documents (keys, manifests, keys documents) the schedule tests build on.
//
// Job: one valid manifest / keys document as JSON objects the tests then
// break in exactly one place, and helpers to sign or hand-assemble envelopes.
// Keys are generated per test run (real Ed25519 keys, never fixed bytes).
#pragma once

#include "schedule/encoding.h"
#include "schedule/envelope.h"
#include "schedule/keys.h"

#include <QByteArray>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <QVariant>
#include <QTest>

#include <vector>

namespace stoa::schedule::testing {

inline const QString kImage = QStringLiteral("sha256:") + QString(64, QLatin1Char('a'));
inline const QString kVideo = QStringLiteral("sha256:") + QString(64, QLatin1Char('b'));

// A manifest exercising every field of §3 (valid until 2099).
inline QJsonObject validManifest(qint64 version = 42)
{
    return QJsonObject{
        {"schema", 1},
        {"version", version},
        {"issued_at", "2026-11-23T10:00:00Z"},
        {"expires_at", "2099-12-23T10:00:00Z"},
        {"devices", QJsonArray{"*"}},
        {"timezone", "Europe/Oslo"},
        {"assets", QJsonObject{{kImage, QJsonObject{{"size", 183422}, {"media_type", "image/jpeg"}}},
                               {kVideo, QJsonObject{{"size", 9120334}, {"media_type", "video/mp4"}}}}},
        {"playlists", QJsonObject{
            {"lobby", QJsonObject{{"items", QJsonArray{
                QJsonObject{{"asset", kImage}, {"duration_ms", 8000}, {"fit", "contain"}},
                QJsonObject{{"asset", kVideo}},
                QJsonObject{{"url", "https://example.com/menu"}, {"duration_ms", 15000}}}}}},
            {"breakfast", QJsonObject{{"items", QJsonArray{
                QJsonObject{{"asset", kImage}, {"duration_ms", 10000}}}}}}}},
        {"schedule", QJsonArray{QJsonObject{
            {"playlist", "breakfast"}, {"priority", 10},
            {"days", QJsonArray{"mon", "tue", "wed", "thu", "fri"}},
            {"from", "06:00"}, {"until", "10:30"},
            {"start_date", "2026-11-01"}, {"end_date", "2026-12-31"}}}},
        {"default_playlist", "lobby"},
        {"display", QJsonObject{{"on", "07:00"}, {"off", "22:00"}}},
        {"settings", QJsonObject{{"sync_interval_s", 300}, {"status_interval_s", 60}, {"rotation", 0}}},
        {"commands", QJsonArray{QJsonObject{{"id", "cmd-7"}, {"type", "screenshot"}}}},
    };
}

// Edits a JSON object along a path of keys / array indexes ("playlists",
// "lobby", "items", 0) and sets (or, with Undefined, removes) the leaf.
inline QJsonValue edited(const QJsonValue &node, QList<QVariant> path, const QJsonValue &leaf)
{
    const QVariant head = path.takeFirst();
    if (head.typeId() == QMetaType::Int) {
        QJsonArray a = node.toArray();
        const int i = head.toInt();
        if (path.isEmpty()) {
            if (leaf.isUndefined()) a.removeAt(i);
            else if (i >= a.size()) a.append(leaf);
            else a.replace(i, leaf);
        } else {
            a.replace(i, edited(a.at(i), path, leaf));
        }
        return a;
    }
    QJsonObject o = node.toObject();
    const QString key = head.toString();
    if (path.isEmpty()) {
        if (leaf.isUndefined()) o.remove(key);
        else o.insert(key, leaf);
    } else {
        o.insert(key, edited(o.value(key), path, leaf));
    }
    return o;
}

// The leaf value that makes edited() remove the key or element.
inline const QJsonValue kRemove = QJsonValue(QJsonValue::Undefined);

inline QByteArray toJson(const QJsonObject &o)
{
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

inline PrivateKey newKey()
{
    auto key = PrivateKey::generate();
    if (!key) qFatal("key generation failed: %s", qPrintable(key.error().reason));
    return *key;
}

inline QByteArray signedEnvelope(QByteArrayView type, QByteArrayView payload, std::vector<PrivateKey> keys)
{
    auto env = signEnvelope(type, payload, keys);
    if (!env) qFatal("signing failed: %s", qPrintable(env.error().reason));
    return *env;
}

inline QByteArray signedManifest(const QJsonObject &manifest, std::vector<PrivateKey> keys)
{
    return signedEnvelope(kManifestPayloadType, toJson(manifest), std::move(keys));
}

// Keys document payload listing `keys`' public halves.
inline QJsonObject keysDocument(qint64 version, const std::vector<PrivateKey> &keys, int threshold = 1,
                                const QString &expiresAt = QStringLiteral("2099-01-01T00:00:00Z"))
{
    QJsonArray list;
    for (const PrivateKey &k : keys) {
        list.append(QJsonObject{{"keyid", QString::fromStdString(k.publicKey().keyId())},
                                {"public_key", QString::fromLatin1(encodeBase64(k.publicKey().raw()))}});
    }
    return QJsonObject{{"version", version}, {"expires_at", expiresAt}, {"threshold", threshold}, {"keys", list}};
}

inline QByteArray signedKeysDocument(const QJsonObject &doc, std::vector<PrivateKey> roots)
{
    return signedEnvelope(kKeysPayloadType, toJson(doc), std::move(roots));
}

// Readable outcome of a check, so that a failing QCOMPARE prints names.
inline QString codeName(RejectCode code)
{
    switch (code) {
    case RejectCode::Io: return QStringLiteral("Io");
    case RejectCode::BadKey: return QStringLiteral("BadKey");
    case RejectCode::Oversize: return QStringLiteral("Oversize");
    case RejectCode::MalformedEnvelope: return QStringLiteral("MalformedEnvelope");
    case RejectCode::UnsupportedPayloadType: return QStringLiteral("UnsupportedPayloadType");
    case RejectCode::WrongPayloadType: return QStringLiteral("WrongPayloadType");
    case RejectCode::NotSigned: return QStringLiteral("NotSigned");
    case RejectCode::MalformedPayload: return QStringLiteral("MalformedPayload");
    case RejectCode::NotNewer: return QStringLiteral("NotNewer");
    case RejectCode::Expired: return QStringLiteral("Expired");
    case RejectCode::NotForThisDevice: return QStringLiteral("NotForThisDevice");
    }
    return QStringLiteral("?");
}

template <typename T>
QString outcome(const std::expected<T, Rejection> &result)
{
    return result ? QStringLiteral("accepted") : codeName(result.error().code);
}

inline QDateTime at(const char *rfc3339)
{
    return QDateTime::fromString(QString::fromLatin1(rfc3339), Qt::ISODate).toUTC();
}

} // namespace stoa::schedule::testing
