// player/shell.cpp — window and scene (see shell.h).
#include "player/shell.h"

#include "player/device_state.h"
#include "player/logging.h"
#include "player/malloc_policy.h"
#include "player/qr_image.h"
#include "player/video_pipeline.h"
#include "player/video_watch.h"

#include <QFile>
#include <QGuiApplication>
#include <QQmlEngine>
#include <QScreen>

namespace stoa::player {

Shell::Shell(cache::Store &store, Playback &playback, DiagnosticsConfig diagnostics, QObject *parent)
    : QObject(parent), m_store(store), m_playback(playback),
      m_diagnostics(std::make_unique<Diagnostics>(store, playback, std::move(diagnostics)))
{
}

bool Shell::load()
{
    // Before any video plays: pipelines' threads share two arenas instead
    // of leaving freed frames behind in new ones (malloc_policy.h).
    limitMallocArenas(2);
    mmapBlocksFrom(256 * 1024); // video frames: mapped and given back (malloc_policy.h)
    // MediaSlot.qml watches video frames through this C++ type (video_watch.h).
    qmlRegisterType<VideoWatch>("Stoa.Player", 1, 0, "VideoWatch");
    qmlRegisterType<VideoPipeline>("Stoa.Player", 1, 0, "VideoPipeline"); // the `pipeline` video engine
    m_engine.addImageProvider(QStringLiteral("stoa-qr"), new QrImageProvider); // the engine owns it
    m_engine.setInitialProperties({{QStringLiteral("playback"), QVariant::fromValue<QObject *>(&m_playback)},
                                   {QStringLiteral("diagnostics"), QVariant::fromValue<QObject *>(m_diagnostics.get())}});
    m_engine.load(QUrl(QStringLiteral("qrc:/stoa/player/qml/Main.qml")));
    const auto roots = m_engine.rootObjects();
    m_window = roots.isEmpty() ? nullptr : qobject_cast<QQuickWindow *>(roots.first());
    if (!m_window) {
        qCCritical(lcPlayer, "the QML scene did not load");
        return false;
    }
    m_diagnostics->attach(m_window);
    m_commands = std::make_unique<CommandRunner>(m_store, [this] { return grab(); });
    connect(&m_playback, &Playback::storeChanged, m_commands.get(), &CommandRunner::check);
    connect(m_window, &QQuickWindow::frameSwapped, this, [this] {
        if (m_firstFrameSeen || m_playback.idle())
            return;
        m_firstFrameSeen = true;
        qCInfo(lcPlayer, "first content frame %lld ms after process start",
               static_cast<long long>(msSinceProcessStart()));
        emit firstContentFrame();
    });
    return true;
}

void Shell::show(bool windowed)
{
    if (!m_window)
        return;
    if (windowed) {
        m_window->resize(1280, 720);
        m_window->show();
    } else {
        // Without a window manager (eglfs, bare X) nobody resizes a full-screen
        // window for us: take the screen's geometry ourselves.
        if (QScreen *screen = m_window->screen())
            m_window->setGeometry(screen->geometry());
        m_window->showFullScreen();
    }
}

QImage Shell::grab()
{
    return m_window ? m_window->grabWindow() : QImage();
}

} // namespace stoa::player
