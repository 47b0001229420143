// player/malloc_policy.cpp — glibc heap policy (see malloc_policy.h).
#include "player/malloc_policy.h"

#include "player/logging.h"

#include <QtGlobal>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace stoa::player {

#if defined(__GLIBC__)
namespace {

// An explicit setting in the environment wins (tuning on a device).
void setUnlessInEnvironment(const char *variable, int param, const char *name, int value)
{
    if (qEnvironmentVariableIsSet(variable))
        return;
    if (mallopt(param, value) != 1)
        qCWarning(lcPlayer, "mallopt(%s, %d) failed", name, value);
}

} // namespace
#endif

void limitMallocArenas(int arenas)
{
#if defined(__GLIBC__)
    setUnlessInEnvironment("MALLOC_ARENA_MAX", M_ARENA_MAX, "M_ARENA_MAX", arenas);
#else
    (void)arenas;
#endif
}

void mmapBlocksFrom(int bytes)
{
#if defined(__GLIBC__)
    setUnlessInEnvironment("MALLOC_MMAP_THRESHOLD_", M_MMAP_THRESHOLD, "M_MMAP_THRESHOLD", bytes);
#else
    (void)bytes;
#endif
}

} // namespace stoa::player
