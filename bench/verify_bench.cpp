// bench/verify_bench.cpp — how fast Stoa verifies a 1 MiB-payload envelope.
//
// Job: print ms per verification, side by side, for
//  1. Stoa: envelope bytes -> parse JSON -> base64 -> PAE -> Ed25519 verify;
//  2. raw EVP: Ed25519 verify of the ready PAE bytes in-process (the floor);
//  3. `openssl pkeyutl -verify -rawin` on the same PAE file (one process per run);
//  4. `sha256sum` of the same PAE file (one process per run), as a yardstick
//     of what merely reading and hashing 1 MiB costs from the command line.
// and the ratios Stoa/openssl and Stoa/raw. Target: Stoa within 2x of openssl.
// Usage: verify_bench [runs=50] [payload-bytes=1048576]
#include "schedule/encoding.h"
#include "schedule/envelope.h"
#include "schedule/keys.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

#include <cstdio>
#include <functional>

using namespace stoa::schedule;

namespace {

// Mean wall-clock ms over `runs` calls of `f`; f returning false aborts.
double msPer(int runs, const std::function<bool()> &f)
{
    if (!f()) return -1; // warm-up, and a correctness check
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < runs; ++i) {
        if (!f()) return -1;
    }
    return double(timer.nsecsElapsed()) / 1e6 / runs;
}

bool runTool(const QString &program, const QStringList &args)
{
    QProcess p;
    p.start(program, args);
    return p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    const int runs = args.size() > 1 ? args.at(1).toInt() : 50;
    const qsizetype payloadBytes = args.size() > 2 ? args.at(2).toLongLong() : 1024 * 1024;
    if (runs <= 0 || payloadBytes <= 0) {
        std::fprintf(stderr, "usage: verify_bench [runs>0] [payload-bytes>0]\n");
        return 2;
    }

    auto key = PrivateKey::generate();
    if (!key) return 1;
    // JSON-ish, compressible-looking but not constant payload.
    QByteArray payload;
    payload.reserve(payloadBytes);
    for (qsizetype i = 0; payload.size() < payloadBytes; ++i) payload.append("{\"n\":").append(QByteArray::number(i)).append("},");
    payload.truncate(payloadBytes);
    const QByteArray type = kManifestPayloadType;
    auto envelope = signEnvelope(type, payload, std::vector{*key});
    if (!envelope) return 1;
    const std::vector<PublicKey> trusted{key->publicKey()};
    const QByteArray paeBytes = pae(type, payload);
    const QByteArray sig = *key->sign(paeBytes);

    QTemporaryDir dir;
    const QString paePath = dir.filePath("pae.bin");
    const QString sigPath = dir.filePath("sig");
    const QString pubPath = dir.filePath("pub.pem");
    if (!writeFile(paePath, paeBytes) || !writeFile(sigPath, sig) || !writeFile(pubPath, key->publicKey().toPem()))
        return 1;

    const double stoa = msPer(runs, [&] { return verifyEnvelope(*envelope, type, trusted).has_value(); });
    const double raw = msPer(runs, [&] { return trusted.front().verify(paeBytes, sig); });
    const double cli = msPer(runs, [&] {
        return runTool("openssl", {"pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", paePath,
                                   "-sigfile", sigPath});
    });
    const double sha = msPer(runs, [&] { return runTool("sha256sum", {paePath}); });

    std::printf("verify_bench: payload %lld bytes, envelope %lld bytes, %d runs each\n",
                static_cast<long long>(payload.size()), static_cast<long long>(envelope->size()), runs);
    std::printf("  %-46s %9.3f ms/verify\n", "stoa verifyEnvelope (parse+base64+PAE+Ed25519)", stoa);
    std::printf("  %-46s %9.3f ms/verify\n", "in-process EVP Ed25519 over ready PAE", raw);
    std::printf("  %-46s %9.3f ms/verify\n", "openssl pkeyutl -verify -rawin (process)", cli);
    std::printf("  %-46s %9.3f ms/run\n", "sha256sum of the PAE file (process)", sha);
    if (stoa < 0 || raw < 0 || cli < 0 || sha < 0) {
        std::printf("  a measured step FAILED (negative figure above)\n");
        return 1;
    }
    std::printf("  ratio stoa / openssl pkeyutl: %.2f (target <= 2.00)\n", stoa / cli);
    std::printf("  ratio stoa / in-process EVP:  %.2f\n", stoa / raw);
    return 0;
}
