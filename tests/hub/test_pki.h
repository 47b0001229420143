// tests/hub/test_pki.h — a private CA and a server certificate for
// 127.0.0.1, made by openssl(1) as a test tool: what a hub serving HTTPS
// itself is given (--tls-cert/--tls-key) and what its devices trust
// (ca_file). Used by the TLS and provisioning suites.
#pragma once

#include "program_run.h"

#include <QFile>
#include <QString>
#include <QStringList>

#include <string>

namespace stoa::hub::test {

// One openssl command in `dir`; false (with its output logged) when it fails.
inline bool runOpenssl(const QStringList &args, const QString &dir)
{
    const auto r = stoa::testing::runProgram("openssl", args, stoa::testing::RunOptions().timeout(60000).in(dir).merged());
    if (!r.ok())
        qWarning("openssl %s: %s", qPrintable(args.join(' ')), r.describe().constData());
    return r.ok();
}

struct Pki {
    QString dir;
    QString ca, cert, key; // PEM files: the CA's certificate, the server's certificate and key
};

// A fresh CA named `name` and a certificate it signed for IP 127.0.0.1
// (two days); aborts the test binary when openssl fails.
inline Pki makePki(const QString &dir, const QString &name)
{
    Pki p{dir, dir + "/" + name + "-ca.pem", dir + "/" + name + "-cert.pem", dir + "/" + name + "-key.pem"};
    const QString caKey = dir + "/" + name + "-ca.key", csr = dir + "/" + name + ".csr", ext = dir + "/" + name + ".ext";
    QFile e(ext);
    if (!e.open(QIODevice::WriteOnly))
        qFatal("cannot write %s", qPrintable(ext));
    e.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n");
    e.close();
    const bool ok = runOpenssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                                caKey, "-out", p.ca, "-days", "2", "-subj", "/CN=Stoa test CA " + name},
                               dir)
                    && runOpenssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", p.key,
                                   "-out", csr, "-subj", "/CN=127.0.0.1"},
                                  dir)
                    && runOpenssl({"x509", "-req", "-in", csr, "-CA", p.ca, "-CAkey", caKey, "-CAcreateserial", "-out", p.cert,
                                   "-days", "2", "-extfile", ext},
                                  dir);
    if (!ok)
        qFatal("could not make the test PKI");
    return p;
}

inline std::string readText(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll().toStdString() : std::string();
}

} // namespace stoa::hub::test
