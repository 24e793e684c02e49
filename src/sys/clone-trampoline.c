/* The one piece of mini that is not TypeScript: a clone3 child must never return into JS (Bun's
 * JIT memory is not in the child; docs/ARCHITECTURE.md). This function clones; the child waits for the
 * parent (uid/gid maps, cgroup), takes its stdio, becomes root of its new user namespace and
 * execs the child stage. Compiled at run time by bun:ffi's cc (TinyCC), without system headers. */
long syscall(long n, ...);
long read(int fd, void *buf, unsigned long n);
int dup2(int oldfd, int newfd);
int fcntl(int fd, int cmd, ...);
int setsid(void);
int ioctl(int fd, unsigned long req, ...);
int execve(const char *path, char *const *argv, char *const *envp);
long write(int fd, const void *buf, unsigned long n);
int setns(int fd, int nstype);
int unshare(int flags);
void _exit(int code);

struct clone_args {
  unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#define SYS_CLONE3 435
#define SIGCHLD 17
#define CLONE_NEWUSER 0x10000000ULL
#define CLONE_NEWTIME 0x00000080
#define CLONE_PARENT 0x00008000ULL
#define F_DUPFD_CLOEXEC 1030
#define TIOCSCTTY 0x540E

/* nr[0] = setresuid, nr[1] = setresgid syscall numbers (they differ between architectures).
 * fds[i] becomes fd i in the child, for i < nfds. Returns the child's pid, or -errno.
 * userns_fd >= 0: an existing user namespace to join instead of a new one. A middle process joins
 * it (and timens_fd's time namespace first, while it still has the host's rights), creates the
 * other namespaces of `flags` there (so they belong to it), clones the child as a sibling
 * (CLONE_PARENT: this process's child) into them, writes the child's pid to pid_pipe and exits;
 * the return value is then the middle process's pid, to be reaped. */
int mini_clone_exec(unsigned long long flags, int sync_fd, int *fds, int nfds, int ctty,
                    const char *path, char *const *argv, char *const *envp, long *nr,
                    int userns_fd, int timens_fd, int pid_pipe) {
  struct clone_args a;
  char *p = (char *)&a;
  for (unsigned long i = 0; i < sizeof(a); i++) p[i] = 0;
  a.flags = userns_fd >= 0 ? 0 : flags;
  a.exit_signal = SIGCHLD;
  long pid = syscall(SYS_CLONE3, &a, sizeof(a));
  if (pid != 0) return (int)pid;
  if (userns_fd >= 0) {
    if (timens_fd >= 0 && setns(timens_fd, CLONE_NEWTIME) != 0) _exit(124);
    if (setns(userns_fd, (int)CLONE_NEWUSER) != 0) _exit(123);
    if (unshare((int)(flags & ~CLONE_NEWUSER)) != 0) _exit(122);
    a.flags = CLONE_PARENT;
    a.exit_signal = 0; /* the kernel gives a CLONE_PARENT child its parent's exit signal */
    long child = syscall(SYS_CLONE3, &a, sizeof(a));
    if (child < 0) _exit(121);
    if (child > 0) {
      int n = (int)child;
      _exit(write(pid_pipe, &n, sizeof n) == sizeof n ? 0 : 120);
    }
  }

  char c;
  if (read(sync_fd, &c, 1) != 1) _exit(125);
  if (flags & CLONE_NEWUSER) {
    /* Raw syscalls: glibc's setresuid would signal the parent's threads, which don't exist here. */
    if (syscall(nr[1], 0, 0, 0) != 0 || syscall(nr[0], 0, 0, 0) != 0) _exit(125);
  }
  int tmp[8];
  for (int i = 0; i < nfds && i < 8; i++) tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64);
  for (int i = 0; i < nfds && i < 8; i++) if (tmp[i] < 0 || dup2(tmp[i], i) < 0) _exit(125);
  if (ctty) {
    setsid();
    ioctl(0, TIOCSCTTY, 0);
  }
  execve(path, argv, envp);
  _exit(127);
  return -1;
}
