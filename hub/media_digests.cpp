// hub/media_digests.cpp — digests of the media library, taken once (media_digests.h).
// A record is one line: "HEX SIZE INODE MTIME_S MTIME_NS"; the file's stat
// must match all four numbers for the hex to be trusted.
#include "hub/media_digests.h"

#include "hub/logging.h"
#include "schedule/digest.h"

#include <QFile>
#include <QFileInfo>

#include <sys/stat.h>

#include <string>

namespace stoa::hub {
namespace {

// What the record must repeat for the digest to be the file's.
std::optional<std::string> identity(const QString &path)
{
    struct stat st{};
    if (::stat(QFile::encodeName(path).constData(), &st) != 0 || !S_ISREG(st.st_mode))
        return std::nullopt;
    return std::to_string(st.st_size) + " " + std::to_string(st.st_ino) + " " + std::to_string(st.st_mtim.tv_sec) + " "
           + std::to_string(st.st_mtim.tv_nsec);
}

} // namespace

std::expected<publish::FileDigest, publish::Error> MediaDigests::digest(const QString &path) const
{
    const QString name = QFileInfo(path).fileName();
    const QString record = QString::fromStdString(dir_) + "/" + name;
    if (const auto id = identity(path)) {
        QFile f(record);
        if (f.open(QIODevice::ReadOnly)) {
            const QByteArray line = f.read(256).trimmed();
            const qsizetype space = line.indexOf(' ');
            if (space == 64 && line.mid(65).toStdString() == *id)
                if (auto recorded = schedule::Digest::fromHex(line.left(64).toStdString()))
                    return publish::FileDigest{std::move(*recorded), std::stoull(*id)};
        }
    }
    auto hashed = publish::digestFile(path);
    if (hashed) {
        qCInfo(lcHub).noquote() << "media: hashed" << name << "(" << hashed->size << "bytes): no current digest was stored";
        store(path, *hashed);
    }
    return hashed;
}

void MediaDigests::store(const QString &path, const publish::FileDigest &digest) const
{
    const auto id = identity(path);
    if (!id)
        return;
    const std::string line = digest.sha256.hex() + " " + *id + "\n";
    const QString record = QString::fromStdString(dir_) + "/" + QFileInfo(path).fileName();
    if (auto w = publish::writeFileAtomically(record, QByteArrayView(line.data(), static_cast<qsizetype>(line.size()))); !w)
        qCWarning(lcHub).noquote() << "media: cannot record the digest of" << path << ":" << w.error().message
                                   << "(it will be hashed again when needed)";
}

void MediaDigests::forget(const std::string &name) const
{
    QFile::remove(QString::fromStdString(dir_ + "/" + name));
}

} // namespace stoa::hub
