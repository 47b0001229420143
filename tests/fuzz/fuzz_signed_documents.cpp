// tests/fuzz/fuzz_signed_documents.cpp — libFuzzer entry point.
//
// Job: feed arbitrary bytes to every parser that sees network input: the
// envelope parser and verifier, and (as if a signature had been valid) the
// keys-document and manifest payload parsers, plus the base64 decoder.
// Invariant: no input may crash, hang, leak or trip a sanitizer; results
// are ignored, only the absence of failures matters.
#include "schedule/encoding.h"
#include "schedule/envelope.h"
#include "schedule/manifest_parse.h"
#include "schedule/trust_store.h"

#include <QDateTime>

#include <cstddef>
#include <cstdint>

namespace {

// Built once per fuzzing process: a store with one (random) root key.
// Inputs are not signed by it, so verification takes the rejection path,
// which is exactly the path attacker-supplied bytes take on a device.
stoa::schedule::TrustStore &trustStore()
{
    static stoa::schedule::TrustStore store = [] {
        auto key = stoa::schedule::PrivateKey::generate();
        return stoa::schedule::TrustStore({key->publicKey()});
    }();
    return store;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    using namespace stoa::schedule;
    const QByteArrayView bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    const QDateTime now = QDateTime::fromSecsSinceEpoch(1800000000, Qt::UTC);

    (void)decodeBase64(bytes);
    if (auto envelope = parseEnvelope(bytes)) {
        // Reach the payload parsers through well-formed envelopes too.
        (void)parseManifest(envelope->payload);
        (void)parseKeysDocument(envelope->payload);
    }
    (void)trustStore().verifyManifestEnvelope(bytes, now);
    (void)trustStore().checkKeysEnvelope(bytes, now);
    (void)parseManifest(bytes);
    (void)parseKeysDocument(bytes);
    return 0;
}
