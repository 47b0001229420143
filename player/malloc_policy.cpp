// player/malloc_policy.cpp — glibc heap policy (see malloc_policy.h).
#include "player/malloc_policy.h"

#include "player/logging.h"

#include <QCoreApplication>
#include <QTimer>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace stoa::player {

void limitMallocArenas(int arenas)
{
#if defined(__GLIBC__)
    // An explicit MALLOC_ARENA_MAX in the environment wins (tuning on a device).
    if (qEnvironmentVariableIsSet("MALLOC_ARENA_MAX"))
        return;
    if (mallopt(M_ARENA_MAX, arenas) != 1)
        qCWarning(lcPlayer, "mallopt(M_ARENA_MAX, %d) failed", arenas);
#else
    (void)arenas;
#endif
}

void mmapBlocksFrom(int bytes)
{
#if defined(__GLIBC__)
    if (qEnvironmentVariableIsSet("MALLOC_MMAP_THRESHOLD_"))
        return;
    if (mallopt(M_MMAP_THRESHOLD, bytes) != 1)
        qCWarning(lcPlayer, "mallopt(M_MMAP_THRESHOLD, %d) failed", bytes);
#else
    (void)bytes;
#endif
}

void trimHeapSoon()
{
#if defined(__GLIBC__)
    if (QCoreApplication *app = QCoreApplication::instance())
        QTimer::singleShot(500, app, [] { malloc_trim(0); });
#endif
}

} // namespace stoa::player
