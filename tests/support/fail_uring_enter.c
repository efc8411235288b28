// Test shim (LD_PRELOAD into the daemon): breaks io_uring_enter on demand, to exercise what
// the daemon does when a FUSE-over-io_uring queue fails for good (test_uring).
//
// While the file named by AF_FAIL_ENTER_FILE exists, every syscall(__NR_io_uring_enter, ...)
// fails with ENOMEM without reaching the kernel; other calls pass through unchanged. With
// AF_FAIL_ENTER_THREAD set, only calls from the thread of that name fail (af-ring-N: the queue
// of one CPU). The daemon issues io_uring_enter through syscall(3) (src/fuse/uring.cc), so
// this is the one entry point to cover.
//
// With AF_ENTER_LOG set, each io_uring_enter that submits (to_submit > 0) appends a line
// "<thread name> <ring fd>" to that file: which threads hand commits to which ring.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*syscall_fn)(long, ...);

long syscall(long number, ...) {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; ++i) a[i] = va_arg(ap, long);
  va_end(ap);
  if (number == __NR_io_uring_enter) {
    const char* trigger = getenv("AF_FAIL_ENTER_FILE");
    const char* only = getenv("AF_FAIL_ENTER_THREAD");
    const char* log = getenv("AF_ENTER_LOG");
    char name[17] = {0};
    if (only != NULL || log != NULL) prctl(PR_GET_NAME, name, 0, 0, 0);
    if (log != NULL && a[1] > 0) {
      int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) {
        char line[sizeof(name) + 24];
        const int n = snprintf(line, sizeof(line), "%s %ld\n", name, a[0]);
        (void)!write(fd, line, (size_t)n);
        close(fd);
      }
    }
    if (trigger != NULL && access(trigger, F_OK) == 0 &&
        (only == NULL || strcmp(name, only) == 0)) {
      errno = ENOMEM;
      return -1;
    }
  }
  static syscall_fn next = NULL;
  syscall_fn real = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
  if (real == NULL) {
    real = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
    __atomic_store_n(&next, real, __ATOMIC_RELEASE);
  }
  return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
