// schedule/trust_store.h — which keys may sign manifests (protocol-v1 §4).
//
// Job: hold the provisioned root keys plus the signing keys of the adopted
// keys document, and answer "is this envelope signed by keys we trust now?".
// Pure: no files, no clock. The caller persists the bytes of an adopted keys
// envelope and hands them back through restoreKeysEnvelope() after a restart.
// Invariants:
//  - root keys never change after construction;
//  - an adopted keys document was signed by a root key, and its version only
//    grows (a document with version <= the adopted one is refused);
//  - a newer document replaces the signing keys as a whole (omission revokes);
//  - a manifest is trusted when ONE root key signed it (recovery path, even
//    with a keys document in force), or when at least `threshold` distinct
//    keys of the adopted, unexpired keys document signed it.
// The manifest version floor a keys document may carry (v1.1 §11) is only
// parsed here: lowering the device's rollback floor is persistent state, so
// the caller applies it (it must survive restarts and database rebuilds).
#pragma once

#include "schedule/envelope.h"
#include "schedule/keys.h"
#include "schedule/rejection.h"

#include <QByteArrayView>
#include <QDateTime>

#include <cstdint>
#include <expected>
#include <optional>
#include <vector>

namespace stoa::schedule {

// Keys document payload (§4), validated.
struct KeysDocument {
    std::int64_t version = 0;
    QDateTime expiresAt;          // UTC; past it the signing keys stop counting
    int threshold = 1;            // 1 <= threshold <= keys.size()
    std::vector<PublicKey> keys;  // distinct keyids
    // v1.1 §11 "manifest_version_floor": adopting this document lowers the
    // highest adopted manifest version to this (if it was greater).
    std::optional<std::int64_t> manifestVersionFloor;
};

// Parse + validate a keys payload (already authenticated bytes): types,
// keyid == sha256(raw key), 32-byte keys, no duplicate keyids, threshold range.
std::expected<KeysDocument, Rejection> parseKeysDocument(QByteArrayView json);

class TrustStore {
public:
    explicit TrustStore(std::vector<PublicKey> rootKeys);

    const std::vector<PublicKey> &rootKeys() const { return m_roots; }
    const std::optional<KeysDocument> &keysDocument() const { return m_keysDoc; }

    // Checks a fetched keys envelope without changing anything: root-signed,
    // keys payload type, valid document, version newer than the adopted one,
    // not expired at `trustedNow`.
    std::expected<KeysDocument, Rejection> checkKeysEnvelope(QByteArrayView envelope,
                                                             const QDateTime &trustedNow) const;

    // checkKeysEnvelope, then the document replaces the current one. The
    // caller persists `envelope` only after this succeeded.
    std::expected<KeysDocument, Rejection> adoptKeysEnvelope(QByteArrayView envelope,
                                                             const QDateTime &trustedNow);

    // After a restart: re-derive state from persisted envelope bytes. Checks
    // the root signature and the document (roots may have been re-provisioned),
    // but neither expiry nor version: it was adopted once already.
    std::expected<KeysDocument, Rejection> restoreKeysEnvelope(QByteArrayView envelope);

    // Verifies a manifest envelope's signatures under the rules above.
    std::expected<VerifiedPayload, Rejection> verifyManifestEnvelope(QByteArrayView envelope,
                                                                     const QDateTime &trustedNow) const;

    // Whether the key set in force still vouches for a manifest adopted
    // earlier: one root signature, or `threshold` keys of the current keys
    // document. False is v1.1 §11's "signer_revoked". Expiry (the document's
    // or the manifest's) is not revocation, so neither is looked at.
    bool signersStillTrusted(QByteArrayView manifestEnvelope) const;

private:
    std::expected<KeysDocument, Rejection> verifiedKeysDocument(QByteArrayView envelope) const;

    std::vector<PublicKey> m_roots;
    std::optional<KeysDocument> m_keysDoc;
};

} // namespace stoa::schedule
