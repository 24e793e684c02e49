/* mini-shim: the small non-JS process of mini, for the two jobs a Bun process can't do well.
 *
 *   monitor  The parent of a detached container (mini run -d). It clones the child stage into
 *            the new namespaces, writes the container's stdout/stderr to its log (CRI format,
 *            size-bounded), records the exit status when it ends, then execs mini's reaper. A
 *            few hundred KiB of RSS instead of a Bun runtime per container.
 *   exec     Joins a running container (user namespace first, then the others; its cgroups),
 *            takes the user, capabilities and no_new_privs of the process, and runs a command.
 *            Joining user and mount namespaces needs a single-threaded process: Bun never is.
 *
 * Built by scripts/build.ts (gcc -static), embedded in dist/mini and run from a sealed memfd,
 * so no container can reach a host file through /proc/PID/exe (CVE-2019-5736). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

extern char **environ;

static void die(int code, const char *call, const char *what) {
  const char *name = strerrorname_np(errno);
  fprintf(stderr, "mini: %s %s: %s\n", call, what, name ? name : strerror(errno));
  exit(code);
}

static int write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    buf += w; n -= (size_t)w;
  }
  return 0;
}

static void read_only_self(const char *path);

/* ---------------------------------------------------------------- monitor */

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
static int monitor(int argc, char **argv) {
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
    syscall(SYS_close_range, 5, ~0U, 0);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    if (child_argv[0][0] == '/' && strncmp(child_argv[0], "/proc/", 6) != 0) read_only_self(child_argv[0]);
    char *empty[] = { NULL };
    execve(child_argv[0], child_argv, empty);
    _exit(127);
  }
  close(out[1]); close(err[1]); close(3); close(4); close(5);
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

/* ---------------------------------------------------------------- exec */

static void parse_list(const char *s, gid_t *out, size_t *n, size_t cap) {
  *n = 0;
  while (*s && *n < cap) {
    char *end;
    out[(*n)++] = (gid_t)strtoul(s, &end, 10);
    if (*end != ',') break;
    s = end + 1;
  }
}

static void report(int fd, const char *call, const char *what) {
  char msg[4200];
  const char *name = strerrorname_np(errno);
  int n = snprintf(msg, sizeof msg, "%d %s %s: %s", errno, call, what, name ? name : strerror(errno));
  (void)!write(fd, msg, (size_t)n);
  _exit(errno == ENOENT ? 127 : errno == EACCES ? 126 : 125);
}

/* execve with the PATH of the command's environment, as a shell would look it up. */
static void exec_path(int errfd, char **args) {
  const char *cmd = args[0];
  if (strchr(cmd, '/')) { execve(cmd, args, environ); report(errfd, "exec", cmd); }
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int saw_eacces = 0;
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    char full[4096];
    snprintf(full, sizeof full, "%.*s%s%s", (int)len, path, len ? "/" : "", cmd);
    execve(full, args, environ);
    if (errno == EACCES) saw_eacces = 1;
    else if (errno != ENOENT && errno != ENOTDIR) report(errfd, "exec", cmd);
    if (!colon) break;
    path = colon + 1;
  }
  errno = saw_eacces ? EACCES : ENOENT;
  report(errfd, "exec", cmd);
}

static pid_t exec_child = 0;
static void forward(int sig) { if (exec_child > 0) kill(exec_child, sig); }

/* usage: exec [--ns PATH:FLAG]... [--cgroup FILE]... [--uid N --gid N --groups a,b]
 *             [--caps BND,EFF,PRM,INH,AMB] [--nnp] [--cwd DIR] [--rlimit RES:SOFT:HARD]...
 *             [--tty] [--detach] [--pid-file FILE] -- ARGV...
 * The command's environment is this process's own. Namespaces are joined in the order given. */
static int exec_main(int argc, char **argv) {
  int nsfd[16], nsflag[16], nns = 0;
  const char *nspath[16];
  const char *cgroups[16]; int ncg = 0;
  const char *rl[16]; int nrl = 0;
  long uid = -1, gid = -1;
  gid_t groups[64]; size_t ngroups = 0; int set_groups = 0;
  unsigned long long caps[5] = { 0 }; int set_caps = 0;
  int nnp = 0, tty = 0, detach = 0;
  const char *cwd = NULL, *pid_file = NULL, *seccomp_file = NULL;
  unsigned int seccomp_flags = 0;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(a, "--") == 0) { i++; break; }
    if (strcmp(a, "--ns") == 0 && nns < 16) { char *c = strrchr(v, ':'); if (!c) return 125; *c = 0; nspath[nns] = v; nsflag[nns++] = (int)strtol(c + 1, NULL, 16); i++; }
    else if (strcmp(a, "--cgroup") == 0 && ncg < 16) { cgroups[ncg++] = v; i++; }
    else if (strcmp(a, "--rlimit") == 0 && nrl < 16) { rl[nrl++] = v; i++; }
    else if (strcmp(a, "--uid") == 0) { uid = strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--gid") == 0) { gid = strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--groups") == 0) { parse_list(v, groups, &ngroups, 64); set_groups = 1; i++; }
    else if (strcmp(a, "--caps") == 0) { if (sscanf(v, "%llx,%llx,%llx,%llx,%llx", &caps[0], &caps[1], &caps[2], &caps[3], &caps[4]) != 5) return 125; set_caps = 1; i++; }
    else if (strcmp(a, "--cwd") == 0) { cwd = v; i++; }
    else if (strcmp(a, "--pid-file") == 0) { pid_file = v; i++; }
    else if (strcmp(a, "--seccomp") == 0) { seccomp_file = v; i++; }
    else if (strcmp(a, "--seccomp-flags") == 0) { seccomp_flags = (unsigned int)strtoul(v, NULL, 10); i++; }
    else if (strcmp(a, "--nnp") == 0) nnp = 1;
    else if (strcmp(a, "--tty") == 0) tty = 1;
    else if (strcmp(a, "--detach") == 0) detach = 1;
    else { fprintf(stderr, "mini-shim exec: unknown option %s\n", a); return 125; }
  }
  char **args = &argv[i];
  if (!args[0]) { fprintf(stderr, "mini-shim exec: no command\n"); return 125; }

  int last_cap = 40;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (f) { if (fscanf(f, "%d", &last_cap) != 1) last_cap = 40; fclose(f); }
  /* Every namespace file is opened before the first setns: after joining the mount namespace,
   * /proc is the container's. The cgroups are joined first, through the host's cgroupfs. */
  for (int k = 0; k < nns; k++) if ((nsfd[k] = open(nspath[k], O_RDONLY | O_CLOEXEC)) < 0) die(125, "open", nspath[k]);
  /* The container's seccomp filter (sock_filter array), a host file: read before the namespaces change. */
  struct sock_fprog filter = { 0, NULL };
  if (seccomp_file) {
    int sf = open(seccomp_file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (sf < 0 || fstat(sf, &st) < 0) die(125, "open", seccomp_file);
    filter.filter = malloc((size_t)st.st_size + 1);
    if (!filter.filter || read(sf, filter.filter, (size_t)st.st_size) != st.st_size) die(125, "read", seccomp_file);
    filter.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
    close(sf);
  }
  /* The pid file is a host path: opened before the mount namespace changes. */
  int pid_fd = -1;
  if (pid_file && (pid_fd = open(pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) die(125, "open", pid_file);
  for (int k = 0; k < ncg; k++) {
    int fd = open(cgroups[k], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) die(125, "write", cgroups[k]);
    close(fd);
  }
  for (int k = 0; k < nns; k++) if (setns(nsfd[k], nsflag[k]) < 0) die(125, "setns", nspath[k]);
  for (int k = 0; k < nns; k++) close(nsfd[k]);

  if (tty) { /* hand the terminal to the command's own session */
    signal(SIGHUP, SIG_IGN);
    ioctl(0, TIOCNOTTY);
    signal(SIGHUP, SIG_DFL);
  }
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) die(125, "pipe", "");
  pid_t pid = fork(); /* the child is in the container's pid namespace */
  if (pid < 0) die(125, "fork", "");
  if (pid == 0) {
    close(ep[0]);
    setsid();
    if (tty && ioctl(0, TIOCSCTTY, 0) < 0) report(ep[1], "ioctl", "TIOCSCTTY");
    if (cwd && chdir(cwd) < 0) report(ep[1], "chdir", cwd);
    char here[4096];
    if (!getcwd(here, sizeof here) || here[0] != '/') { errno = EACCES; report(ep[1], "getcwd", "(outside the container)"); }
    for (int k = 0; k < nrl; k++) {
      int res; unsigned long long soft, hard;
      if (sscanf(rl[k], "%d:%llu:%llu", &res, &soft, &hard) != 3) continue;
      struct rlimit r = { soft, hard };
      if (setrlimit(res, &r) < 0) report(ep[1], "setrlimit", rl[k]);
    }
    /* fds beyond stdio close at exec; marked before a seccomp filter that may not allow close_range. */
    syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
    /* Without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the privileges go. */
    if (filter.filter && !nnp && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flags, &filter) < 0) report(ep[1], "seccomp", "SECCOMP_SET_MODE_FILTER");
    /* The bounding set first (needs CAP_SETPCAP, which the uid change clears), then the ids
     * between KEEPCAPS 1/0, then the capability sets, then ambient (security.ts has the why). */
    if (set_caps)
      for (int c = 0; c <= last_cap; c++)
        if (!(caps[0] >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) report(ep[1], "prctl", "PR_CAPBSET_DROP");
    if (uid >= 0 || gid >= 0 || set_groups) {
      prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
      if (set_groups && syscall(SYS_setgroups, ngroups, groups) < 0) report(ep[1], "setgroups", "");
      if (gid >= 0 && syscall(SYS_setresgid, gid, gid, gid) < 0) report(ep[1], "setresgid", "");
      if (uid >= 0 && syscall(SYS_setresuid, uid, uid, uid) < 0) report(ep[1], "setresuid", "");
      prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    }
    if (set_caps) {
      struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
      struct __user_cap_data_struct d[2] = {
        { (uint32_t)caps[1], (uint32_t)caps[2], (uint32_t)caps[3] },
        { (uint32_t)(caps[1] >> 32), (uint32_t)(caps[2] >> 32), (uint32_t)(caps[3] >> 32) },
      };
      if (syscall(SYS_capset, &h, d) < 0) report(ep[1], "capset", "");
      prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
      for (int c = 0; c <= last_cap; c++)
        if ((caps[4] >> c & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) report(ep[1], "prctl", "PR_CAP_AMBIENT_RAISE");
    }
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) report(ep[1], "prctl", "PR_SET_NO_NEW_PRIVS");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    if (filter.filter && nnp && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flags, &filter) < 0) report(ep[1], "seccomp", "SECCOMP_SET_MODE_FILTER");
    exec_path(ep[1], args);
  }
  close(ep[1]);
  char msg[4200];
  ssize_t n = read(ep[0], msg, sizeof msg - 1);
  if (n > 0) {
    msg[n] = 0;
    int code = atoi(msg);
    char *text = strchr(msg, ' ');
    fprintf(stderr, "mini: %s\n", text ? text + 1 : msg);
    int st;
    waitpid(pid, &st, 0);
    return code == ENOENT ? 127 : code == EACCES ? 126 : 125;
  }
  if (pid_fd >= 0) {
    char num[32];
    int len = snprintf(num, sizeof num, "%d", pid);
    if (write_all(pid_fd, num, (size_t)len) < 0) die(125, "write", pid_file);
    close(pid_fd);
  }
  if (detach) return 0;
  exec_child = pid;
  struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
  int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
  for (unsigned k = 0; k < sizeof fwd / sizeof fwd[0]; k++) sigaction(fwd[k], &sa, NULL);
  int st;
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) die(125, "waitpid", "");
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* ---------------------------------------------------------------- roexec */

/* usage: roexec PATH ARG0 ARG...
 * Execs PATH from a read-only bind mount of itself, made in a private mount namespace: the
 * running binary's /proc/PID/exe then leads to a read-only mount, so a container process that
 * grabs it can never write the host's mini (CVE-2019-5736), and no copy of a 100 MiB binary is
 * needed. The mount namespace is the child stage's to replace with the container's. */
static void read_only_self(const char *path) {
  if (unshare(CLONE_NEWNS) < 0) die(125, "unshare", "CLONE_NEWNS");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die(125, "mount", "/ rprivate");
  if (mount(path, path, NULL, MS_BIND, NULL) < 0) die(125, "mount bind", path);
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) die(125, "mount remount ro", path);
}

static int roexec(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "mini-shim roexec: too few arguments\n"); return 125; }
  const char *path = argv[1];
  read_only_self(path);
  execve(path, &argv[2], environ);
  die(127, "execve", path);
  return 127;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "monitor") == 0) return monitor(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return exec_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "roexec") == 0) return roexec(argc - 1, argv + 1);
  fprintf(stderr, "mini-shim: a helper of mini, not meant to be run by hand (monitor|exec)\n");
  return 125;
}
