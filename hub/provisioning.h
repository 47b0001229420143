// hub/provisioning.h — the provisioning bundle `stoa-hub device add ID
// --provision DIR` writes: the boot-partition files `stoa provision`
// (tools/provision.h) takes over into a device's /etc/stoa.
//
//   in DIR          installed by `stoa provision` as   holds
//   stoa-token      ETC/token                          the device's bearer token (mode 0600 here)
//   stoa-root.pub   ETC/root.pub                       the trusted root key(s), when given
//   stoa-ca.pem     ETC/ca.pem                         the CA certificate(s) of the hub's TLS
//                                                      certificate, when given (a private CA)
//   stoa.conf       ETC/stoa.conf (the whole file)     server, device_id, token_file, trusted_keys,
//                                                      [ca_file], and the shipped defaults it replaces
//
// Job: check what goes into the bundle, write every file beside its final
// name first (stage), and only then, after the device is registered, move
// them into place (commit). Invariants:
//  - DIR never holds a half-written bundle file: each is a temporary file
//    (mkstemp, so 0600 from its creation), fsynced, then renamed; the
//    temporaries start with a dot, so stoa-provision.service's `stoa*`
//    condition never sees one;
//  - stoa.conf is moved in last: a bundle with a stoa.conf is complete;
//  - an existing bundle file is never replaced unless `force` (checked at
//    stage, and again at the rename with RENAME_NOREPLACE);
//  - a writer destroyed without commit() removes its temporaries.
// The hub links neither sync nor tools: the config written here is checked
// against the agent's parser by tests/hub/tst_provision.cpp, which runs the
// real `stoa provision` and `stoa-syncd --check-config` on it.
#pragma once

#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::hub {

struct BundleError {
    enum class Code {
        Invalid, // what was asked for cannot be written (a bad URL, id or key)
        Exists,  // a bundle is already there and force was not given
        Io,      // DIR is missing, not a directory, or not writable
    };
    Code code;
    std::string message;
};

// The hub's URL as a device's `server`: http:// or https://, a host, no
// credentials, query nor fragment (`#` starts a comment in stoa.conf);
// trailing slashes dropped, since the agent appends "/v1/…".
struct ServerUrl {
    std::string url;
    bool cleartextOffHost = false; // http:// to something other than loopback: the token crosses in clear
};
std::expected<ServerUrl, BundleError> checkServerUrl(std::string_view url);

// `serve --public-url` is kept in DATA/public-url (one line, replaced
// atomically) so that `device add --provision`, run later with the same
// data directory, can default to it instead of asking again.
std::expected<void, BundleError> recordPublicUrl(const std::filesystem::path &dataDir, const ServerUrl &url);
// The recorded URL, checked again; nullopt when none was recorded or the
// file no longer holds a URL checkServerUrl accepts.
std::optional<ServerUrl> recordedPublicUrl(const std::filesystem::path &dataDir);

struct BundleSpec {
    std::string deviceId;                   // schedule::isDeviceId
    std::string serverUrl;                  // from checkServerUrl
    std::string token;                      // the device's bearer token, one line
    std::filesystem::path etcDir = "/etc/stoa"; // where `stoa provision --etc` installs on the device; absolute
    std::optional<std::string> rootKeysPem; // checked PEM Ed25519 public key(s) for stoa-root.pub
    std::optional<std::string> caPem;       // checked PEM certificate(s) for stoa-ca.pem: the device's ca_file
};

// The stoa.conf text for `spec` (no I/O).
std::string bundleConfig(const BundleSpec &spec);

class BundleWriter {
public:
    // Checks `spec` and `dir` (an existing, writable directory), refuses
    // when a bundle file is already there unless `force`, and writes every
    // file to its temporary. `warnings` collects what is not an error (e.g.
    // modes a FAT file system cannot hold).
    static std::expected<BundleWriter, BundleError> stage(const std::filesystem::path &dir, const BundleSpec &spec,
                                                          bool force, std::vector<std::string> &warnings);

    // Moves the temporaries into place (stoa.conf last), fsyncs DIR, and
    // with `force` removes a stoa-root.pub or stoa-ca.pem left from an
    // earlier bundle that this one does not have. Answers the files now in
    // DIR. At most once.
    std::expected<std::vector<std::string>, BundleError> commit();

    BundleWriter(BundleWriter &&other) noexcept;
    BundleWriter &operator=(BundleWriter &&) = delete;
    BundleWriter(const BundleWriter &) = delete;
    BundleWriter &operator=(const BundleWriter &) = delete;
    ~BundleWriter();

private:
    struct Staged {
        std::filesystem::path temporary;
        std::string name; // final name in dir
    };
    BundleWriter(std::filesystem::path dir, bool force);

    std::filesystem::path dir_;
    bool force_ = false;
    std::vector<std::string> stale_; // optional files this bundle lacks: removed with force
    std::vector<Staged> staged_; // in commit order
};

} // namespace stoa::hub
