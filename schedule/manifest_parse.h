// schedule/manifest_parse.h — manifest payload JSON -> Manifest (protocol-v1 §3).
//
// Job: validate every field of an (already authenticated) manifest payload
// and build the plain structs of manifest.h, or say precisely what is wrong.
// Invariants: a returned Manifest satisfies every invariant listed in
// manifest.h; unknown fields are ignored; duplicate JSON object keys anywhere
// make the payload malformed (see docs/protocol.md).
#pragma once

#include "schedule/manifest.h"
#include "schedule/rejection.h"

#include <QByteArrayView>

#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace stoa::schedule {

std::expected<Manifest, Rejection> parseManifest(QByteArrayView json);

// Cross-reference check, separate so that acceptance can re-run it on a
// Manifest built elsewhere: every item asset is declared, every playlist a
// schedule entry / default_playlist names exists.
std::expected<void, Rejection> checkReferences(const Manifest &manifest);

// A manifest envelope as the store keeps it (verified before it was stored):
// the envelope and its payload parsed again, not verified again. The one
// reader of a stored manifest, for every process that reads the store.
// A rejection's reason reads "envelope does not parse: …" or "manifest does
// not parse: …", for the caller to say whose.
struct StoredManifestContent {
    Manifest manifest;
    std::vector<std::string> signerKeyIds; // as the envelope names them
};
std::expected<StoredManifestContent, Rejection> readStoredManifest(QByteArrayView envelope);
// The model alone, from the store's bytes (cache::StoredManifest::envelope);
// nullopt when they do not parse, for callers that have no one to tell.
std::optional<Manifest> readStoredManifestModel(const std::string &envelope);

} // namespace stoa::schedule
