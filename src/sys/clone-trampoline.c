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
void _exit(int code);

struct clone_args {
  unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

#define SYS_CLONE3 435
#define SIGCHLD 17
#define CLONE_NEWUSER 0x10000000ULL
#define F_DUPFD_CLOEXEC 1030
#define TIOCSCTTY 0x540E

/* nr[0] = setresuid, nr[1] = setresgid syscall numbers (they differ between architectures).
 * fds[i] becomes fd i in the child, for i < nfds. Returns the child's pid, or -errno. */
int mini_clone_exec(unsigned long long flags, int sync_fd, int *fds, int nfds, int ctty,
                    const char *path, char *const *argv, char *const *envp, long *nr) {
  struct clone_args a;
  char *p = (char *)&a;
  for (unsigned long i = 0; i < sizeof(a); i++) p[i] = 0;
  a.flags = flags;
  a.exit_signal = SIGCHLD;
  long pid = syscall(SYS_CLONE3, &a, sizeof(a));
  if (pid != 0) return (int)pid;

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
