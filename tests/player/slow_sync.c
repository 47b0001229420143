/* tests/player/slow_sync.c — an LD_PRELOAD shim that makes the disk's syncs
 * slow, as a Raspberry Pi's SD card is (an fsync there can take tens to
 * hundreds of milliseconds), so a test can see what waits on one.
 *
 * fsync, fdatasync, msync and sync_file_range sleep for the current delay and
 * then call the real function (dlsym RTLD_NEXT), so nothing is less durable
 * than without the shim. The delay starts as STOA_SLOW_SYNC_MS (0 when unset)
 * and can be changed at run time through stoa_slow_sync_set_ms(), which a
 * preloaded test finds with dlsym(RTLD_DEFAULT, ...): a test measures a
 * baseline with 0 and the slow disk afterwards in one process.
 * stoa_slow_sync_count() is how many syncs were delayed (a test checks the
 * shim is really in the path).
 *
 * Invariant: the delay and the count are atomics; the shim keeps no other
 * state, so it is safe from any thread, before or after main. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static atomic_int g_delay_ms = -1; /* -1: not read from the environment yet */
static atomic_long g_delayed = 0;

void stoa_slow_sync_set_ms(int ms) { atomic_store(&g_delay_ms, ms < 0 ? 0 : ms); }
long stoa_slow_sync_count(void) { return atomic_load(&g_delayed); }

static void slow_down(void)
{
    int ms = atomic_load(&g_delay_ms);
    if (ms < 0) {
        const char *env = getenv("STOA_SLOW_SYNC_MS");
        int want = env ? atoi(env) : 0;
        int expected = -1;
        atomic_compare_exchange_strong(&g_delay_ms, &expected, want < 0 ? 0 : want);
        ms = atomic_load(&g_delay_ms);
    }
    if (ms <= 0)
        return;
    atomic_fetch_add(&g_delayed, 1);
    const int saved = errno;
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
    errno = saved;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

int fsync(int fd)
{
    slow_down();
    return REAL("fsync", int (*)(int))(fd);
}

int fdatasync(int fd)
{
    slow_down();
    return REAL("fdatasync", int (*)(int))(fd);
}

int msync(void *addr, size_t length, int flags)
{
    slow_down();
    return REAL("msync", int (*)(void *, size_t, int))(addr, length, flags);
}

int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags)
{
    /* Only a range that waits for the disk is slow; SYNC_FILE_RANGE_WRITE
     * alone starts write-back and returns (blob_writer.cpp uses it so). */
    if (flags & (SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER))
        slow_down();
    return REAL("sync_file_range", int (*)(int, off64_t, off64_t, unsigned int))(fd, offset, nbytes, flags);
}
