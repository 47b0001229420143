/* packaging/arm64/qemu-no-pidfd.c — preloaded into every arm64 process run
 * under qemu-user from the sysroot (its /etc/ld.so.preload; make-sysroot.sh).
 *
 * Qt's QProcess starts children through forkfd, which uses clone(CLONE_PIDFD)
 * when waitid(P_PIDFD) on a closed descriptor answers EBADF. qemu-user 7.2
 * (Debian 12) passes that waitid through to the kernel, which supports it,
 * but refuses clone(CLONE_PIDFD) with EINVAL (supported from qemu 8.0): every
 * QProcess then fails with "fork failure: Invalid argument". Answering EINVAL
 * to waitid(P_PIDFD) makes forkfd take its path for kernels before 5.4
 * (fork and SIGCHLD), which qemu runs. Nothing else changes; on a real arm64
 * machine nothing of this is present. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

long syscall(long number, ...)
{
    static long (*real)(long, ...);
    va_list ap;
    long a[6];
    va_start(ap, number);
    for (int i = 0; i < 6; ++i)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (number == SYS_waitid && a[0] == P_PIDFD) {
        errno = EINVAL;
        return -1;
    }
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "syscall"); /* POSIX dlsym idiom */
    return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
