/* mini-shim monitor: the parent of a detached container (see main.c). */
#include "shim.h"


struct log {
  const char *path;
  int fd;
  off_t size, max;
};

struct stream {
  int fd;
  const char *name;
  char buf[16384];
  size_t len;
};

static void log_open(struct log *l) {
  l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  struct stat st;
  l->size = (l->fd >= 0 && fstat(l->fd, &st) == 0) ? st.st_size : 0;
}

/* One record: "2026-11-23T20:12:56.123456789Z stdout F text\n" (F: a full line, P: part of one). */
static void log_record(struct log *l, const char *stream, char tag, const char *text, size_t n) {
  if (l->fd < 0) return;
  if (l->max > 0 && l->size + (off_t)n + 64 > l->max && l->size > 0) {
    char old[4096];
    snprintf(old, sizeof old, "%s.1", l->path);
    close(l->fd);
    rename(l->path, old);
    log_open(l);
    if (l->fd < 0) return;
  }
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char head[96];
  int h = snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec, stream, tag);
  /* One write per record keeps records whole for a reader following the file. */
  char *rec = malloc((size_t)h + n + 1);
  if (!rec) return;
  memcpy(rec, head, (size_t)h);
  memcpy(rec + h, text, n);
  rec[h + n] = '\n';
  if (write_all(l->fd, rec, (size_t)h + n + 1) == 0) l->size += h + (off_t)n + 1;
  free(rec);
}

/* Appends what was read; writes every complete line, and a part when the buffer is full. */
static void stream_feed(struct log *l, struct stream *s, const char *data, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (data[i] == '\n') {
      log_record(l, s->name, 'F', s->buf, s->len);
      s->len = 0;
      continue;
    }
    if (s->len == sizeof s->buf) {
      log_record(l, s->name, 'P', s->buf, s->len);
      s->len = 0;
    }
    s->buf[s->len++] = data[i];
  }
}

/* Reads what is there; returns 0 at EOF (or error), 1 otherwise. */
static int stream_read(struct log *l, struct stream *s) {
  char data[65536];
  ssize_t n = read(s->fd, data, sizeof data);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) {
    if (s->len) log_record(l, s->name, 'P', s->buf, s->len);
    s->len = 0;
    close(s->fd);
    s->fd = -1;
    return 0;
  }
  stream_feed(l, s, data, (size_t)n);
  return 1;
}

static int sigchld_pipe[2];
static void on_sigchld(int sig) { (void)sig; int e = errno; (void)!write(sigchld_pipe[1], "c", 1); errno = e; }

/* usage: monitor EXIT_FILE LOG_FILE LOG_MAX CLONE_FLAGS PATH ARG... -- THEN_PATH THEN_ARG...
 * fds: 0 the container's stdin; 3 and 4 passed to the child stage (config, errors); 5 the child
 * waits for one byte on it before it execs; 6 gets the child's pid. */
int monitor_main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "mini-shim monitor: too few arguments\n"); return 125; }
  const char *exit_file = argv[1];
  struct log l = { .path = argv[2], .fd = -1, .max = strtoll(argv[3], NULL, 10) };
  unsigned long long flags = strtoull(argv[4], NULL, 16);
  char **child_argv = &argv[5];
  char **then_argv = NULL;
  for (int i = 5; i < argc; i++) if (strcmp(argv[i], "--") == 0) { argv[i] = NULL; then_argv = &argv[i + 1]; break; }

  signal(SIGPIPE, SIG_IGN);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK)) die(125, "pipe", "");
  struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_RESTART | SA_NOCLDSTOP };
  sigaction(SIGCHLD, &sa, NULL);

  /* The child stage's binary, opened while this process is still host root: a user-namespaced
   * child (an unprivileged host uid) execs it through /proc/self/fd, whatever the permissions
   * of the directories above it. */
  int exe = open(child_argv[0], O_PATH | O_CLOEXEC);
  if (exe < 0) die(125, "open", child_argv[0]);
  char exe_path[64];
  snprintf(exe_path, sizeof exe_path, "/proc/self/fd/%d", exe);

  struct clone_args { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup; } ca;
  memset(&ca, 0, sizeof ca);
  ca.flags = flags;
  ca.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0) die(125, "clone3", argv[4]);
  if (pid == 0) {
    char c;
    if (read(5, &c, 1) != 1) _exit(125); /* mini went away before handing over */
    if ((flags & CLONE_NEWUSER) && (setresgid(0, 0, 0) || setresuid(0, 0, 0))) _exit(125);
    if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(125);
    syscall(SYS_close_range, 5, ~0U, 4 /* CLOSE_RANGE_CLOEXEC: gone at the exec */);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    char *empty[] = { NULL };
    /* With a user namespace its root is an unprivileged host uid that can't write mini anyway
     * (CVE-2019-5736 needs write access), and it could not bind-mount a path it can't reach. */
    if (flags & CLONE_NEWUSER) execve(exe_path, child_argv, empty);
    read_only_self(child_argv[0]);
    execve(child_argv[0], child_argv, empty);
    _exit(127);
  }
  close(out[1]); close(err[1]); close(3); close(4); close(5); close(exe);
  char num[32];
  int n = snprintf(num, sizeof num, "%ld\n", pid);
  (void)!write(6, num, (size_t)n);
  close(6);

  log_open(&l);
  static struct stream so = { .name = "stdout" }, se = { .name = "stderr" };
  so.fd = out[0];
  se.fd = err[0];
  int status = 0, reaped = 0;
  struct timespec deadline = { 0, 0 };
  for (;;) {
    struct pollfd p[3] = { { so.fd, POLLIN, 0 }, { se.fd, POLLIN, 0 }, { sigchld_pipe[0], POLLIN, 0 } };
    /* Once the container is gone, what its pipes still hold is read, for at most a second
     * (a process that escaped the pid namespace could hold them open forever). */
    int timeout = -1;
    if (reaped) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long ms = (deadline.tv_sec - now.tv_sec) * 1000 + (deadline.tv_nsec - now.tv_nsec) / 1000000;
      if ((so.fd < 0 && se.fd < 0) || ms <= 0) break;
      timeout = (int)ms;
    }
    if (poll(p, 3, timeout) < 0 && errno != EINTR) break;
    if (so.fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) stream_read(&l, &so);
    if (se.fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) stream_read(&l, &se);
    if (p[2].revents & POLLIN) { char b[64]; while (read(sigchld_pipe[0], b, sizeof b) > 0) {} }
    if (!reaped) {
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) if (w == pid) { status = st; reaped = 1; }
      if (reaped) { clock_gettime(CLOCK_MONOTONIC, &deadline); deadline.tv_sec += 1; }
    }
    if (!reaped && so.fd < 0 && se.fd < 0) {
      /* Both pipes closed before the exit: wait for it without polling them. */
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
      status = st;
      reaped = 1;
      break;
    }
  }
  if (so.fd >= 0 && so.len) log_record(&l, "stdout", 'P', so.buf, so.len);
  if (se.fd >= 0 && se.len) log_record(&l, "stderr", 'P', se.buf, se.len);
  if (l.fd >= 0) close(l.fd);

  /* The exit status, atomically: "WAIT_STATUS UNIX_NANOS". */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char tmp[4096], line[64];
  snprintf(tmp, sizeof tmp, "%s.tmp", exit_file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    n = snprintf(line, sizeof line, "%d %lld%09ld\n", status, (long long)ts.tv_sec, ts.tv_nsec);
    write_all(fd, line, (size_t)n);
    fsync(fd);
    close(fd);
    rename(tmp, exit_file);
  }
  if (then_argv && then_argv[0]) {
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    execve(then_argv[0], then_argv, environ);
    die(125, "execve", then_argv[0]);
  }
  return 0;
}
