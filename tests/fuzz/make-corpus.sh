#!/bin/sh
# tests/fuzz/make-corpus.sh — regenerate the seed corpus: valid DSSE envelopes
# (manifest and keys document) signed with a throw-away key by the openssl
# command line, plus the bare payloads. Usage: make-corpus.sh [corpus-dir]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

openssl genpkey -algorithm ed25519 -out "$tmp/k.pem"
openssl pkey -in "$tmp/k.pem" -pubout -outform DER -out "$tmp/pub.der"
keyid=$(tail -c 32 "$tmp/pub.der" | sha256sum | cut -d' ' -f1)
pub=$(tail -c 32 "$tmp/pub.der" | base64 -w0)
hexa=$(printf 'a%.0s' $(seq 64))
hexb=$(printf 'b%.0s' $(seq 64))

cat > "$tmp/manifest.json" <<JSON
{"schema":1,"version":42,"issued_at":"2026-11-23T10:00:00Z","expires_at":"2026-12-23T10:00:00Z",
 "devices":["*","pi-lobby-01"],"timezone":"Europe/Oslo",
 "assets":{"sha256:$hexa":{"size":183422,"media_type":"image/jpeg"},
           "sha256:$hexb":{"size":9120334,"media_type":"video/mp4"}},
 "playlists":{"lobby":{"items":[{"asset":"sha256:$hexa","duration_ms":8000,"fit":"contain"},
                                {"asset":"sha256:$hexb"},{"url":"https://example.com/menu","duration_ms":15000}]},
              "breakfast":{"items":[{"asset":"sha256:$hexa","duration_ms":10000,"fit":"cover"}]}},
 "schedule":[{"playlist":"breakfast","priority":10,"days":["mon","tue","wed","thu","fri"],
              "from":"06:00","until":"10:30","start_date":"2026-11-01","end_date":"2026-12-31"},
             {"playlist":"lobby","from":"22:00","until":"02:00"}],
 "default_playlist":"lobby","display":{"on":"07:00","off":"22:00"},
 "settings":{"sync_interval_s":300,"status_interval_s":60,"rotation":90},
 "commands":[{"id":"cmd-7","type":"screenshot"},{"id":"cmd-8","type":"reboot"}]}
JSON
cat > "$tmp/keys.json" <<JSON
{"version":3,"expires_at":"2027-11-23T00:00:00Z","threshold":1,"keys":[{"keyid":"$keyid","public_key":"$pub"}]}
JSON

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
envelope() { # type payload-file output [urlsafe]
    enc="base64 -w0"
    [ "${4:-}" = urlsafe ] && enc="b64url"
    len_t=$(printf '%s' "$1" | wc -c)
    len_b=$(wc -c < "$2")
    { printf 'DSSEv1 %s %s %s ' "$len_t" "$1" "$len_b"; cat "$2"; } > "$tmp/pae.bin"
    openssl pkeyutl -sign -rawin -inkey "$tmp/k.pem" -in "$tmp/pae.bin" -out "$tmp/sig"
    printf '{"payloadType":"%s","payload":"%s","signatures":[{"keyid":"%s","sig":"%s"}]}\n' \
        "$1" "$($enc < "$2")" "$keyid" "$($enc < "$tmp/sig")" > "$3"
}
envelope "application/vnd.stoa.manifest+json; version=1" "$tmp/manifest.json" "$out/manifest-envelope.json"
envelope "application/vnd.stoa.keys+json; version=1" "$tmp/keys.json" "$out/keys-envelope.json"
cp "$tmp/manifest.json" "$out/manifest-payload.json"
cp "$tmp/keys.json" "$out/keys-payload.json"
envelope "application/vnd.stoa.manifest+json; version=1" "$tmp/manifest.json" "$out/manifest-envelope-urlsafe.json" urlsafe
echo "corpus written to $out"
