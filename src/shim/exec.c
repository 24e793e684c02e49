/* mini-shim exec: a command in a running container (see main.c). */
#include "shim.h"


static void parse_list(const char *s, gid_t *out, size_t *n, size_t cap) {
  *n = 0;
  while (*s && *n < cap) {
    char *end;
    out[(*n)++] = (gid_t)strtoul(s, &end, 10);
    if (*end != ',') break;
    s = end + 1;
  }
}

/* --setup-exit N: the exit status of a failure before the command runs (runc exec's 255); else
 * docker's (127 not found, 126 can't execute, 125 anything else). */
static int setup_exit = -1;
static int setup_code(int err) {
  if (setup_exit >= 0) return setup_exit;
  return err == ENOENT ? 127 : err == EACCES ? 126 : 125;
}

static void report(int fd, const char *call, const char *what) {
  char msg[4200];
  const char *name = errno_name(errno);
  int n = snprintf(msg, sizeof msg, "%d %s %s: %s", errno, call, what, name ? name : strerror(errno));
  (void)!write(fd, msg, (size_t)n);
  _exit(setup_code(errno));
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

/* Joins the cgroup whose cgroup.procs is `procs`. This process is single-threaded, so on cgroup v1
 * its sibling `tasks` file moves all of it, and a thread moving itself skips the lock that waits for
 * an RCU grace period (milliseconds) on every cgroup.procs write. cgroup2 has no `tasks`. */
static void join_cgroup(const char *procs) {
  char tasks[PATH_MAX];
  const char *slash = strrchr(procs, '/');
  int fd = -1;
  if (slash && (size_t)(slash - procs) + sizeof("/tasks") <= sizeof(tasks)) {
    memcpy(tasks, procs, (size_t)(slash - procs));
    strcpy(tasks + (slash - procs), "/tasks");
    fd = open(tasks, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) die(setup_code(errno), "open", tasks);
  }
  const char *file = fd >= 0 ? tasks : procs;
  if (fd < 0 && (fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0) die(setup_code(errno), "open", procs);
  if (write(fd, "0", 1) != 1) die(setup_code(errno), "write", file);
  close(fd);
}

/* usage: exec [--ns PATH:FLAG]... [--cgroup FILE]... [--uid N --gid N --groups a,b]
 *             [--caps BND,EFF,PRM,INH,AMB] [--nnp] [--cwd DIR] [--rlimit RES:SOFT:HARD]...
 *             [--tty] [--detach] [--pid-file FILE] [--umask N] [--chroot DIR]
 *             [--personality N] [--sched P,F,NICE,PRIO,RT,DL,PERIOD] [--ioprio N]
 *             [--cpu-initial LIST] [--cpu-final LIST]
 *             [--seccomp-listener-fd FD --seccomp-state JSON] [--pidfd-fd FD] [--setup-exit N]
 *             [--preserve-fds N]
 *             -- ARGV...
 * The command's environment is this process's own. Namespaces are joined in the order given.
 * --chroot: the container shares our mount namespace (it has none of its own): its root.
 * --seccomp-listener-fd: a connection to the seccomp agent; the notify fd of the filter goes to it
 * with the state JSON given (an object, "pid" added first). --pidfd-fd: a connection that gets a
 * pidfd of the command. Without --cpu-initial/--cpu-final the affinity is reset to every CPU once
 * the cgroups are joined (their cpuset decides; runc's). */
int exec_main(int argc, char **argv) {
  int nsfd[16], nsflag[16], nns = 0;
  const char *nspath[16];
  const char *cgroups[16]; int ncg = 0;
  const char *rl[16]; int nrl = 0;
  long uid = -1, gid = -1;
  gid_t groups[64]; size_t ngroups = 0; int set_groups = 0;
  unsigned long long caps[5] = { 0 }; int set_caps = 0;
  int nnp = 0, tty = 0, detach = 0;
  const char *cwd = NULL, *pid_file = NULL, *seccomp_file = NULL;
  const char *root_dir = NULL, *sched = NULL, *cpu_initial = NULL, *cpu_final = NULL, *seccomp_state = NULL;
  unsigned int seccomp_flags = 0;
  long umask_v = -1, persona = -1, ioprio = -1;
  int listener_fd = -1, pidfd_fd = -1, preserve_fds = 0;
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
    else if (strcmp(a, "--umask") == 0) { umask_v = strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--chroot") == 0) { root_dir = v; i++; }
    else if (strcmp(a, "--personality") == 0) { persona = strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--sched") == 0) { sched = v; i++; }
    else if (strcmp(a, "--ioprio") == 0) { ioprio = strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--cpu-initial") == 0) { cpu_initial = v; i++; }
    else if (strcmp(a, "--cpu-final") == 0) { cpu_final = v; i++; }
    else if (strcmp(a, "--seccomp-listener-fd") == 0) { listener_fd = (int)strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--seccomp-state") == 0) { seccomp_state = v; i++; }
    else if (strcmp(a, "--pidfd-fd") == 0) { pidfd_fd = (int)strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--setup-exit") == 0) { setup_exit = (int)strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--preserve-fds") == 0) { preserve_fds = (int)strtol(v, NULL, 10); i++; }
    else if (strcmp(a, "--nnp") == 0) nnp = 1;
    else if (strcmp(a, "--tty") == 0) tty = 1;
    else if (strcmp(a, "--detach") == 0) detach = 1;
    else { fprintf(stderr, "mini-shim exec: unknown option %s\n", a); return 125; }
  }
  char **args = &argv[i];
  if (!args[0]) { fprintf(stderr, "mini-shim exec: no command\n"); return 125; }

  /* execCPUAffinity.initial: this process (and so the command) runs there until it joins the cgroups. */
  if (cpu_initial && set_affinity(cpu_initial) < 0) die(setup_code(errno), "sched_setaffinity", cpu_initial);
  int last_cap = 40;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (f) { if (fscanf(f, "%d", &last_cap) != 1) last_cap = 40; fclose(f); }
  /* Every namespace file is opened before the first setns: after joining the mount namespace,
   * /proc is the container's. The cgroups are joined first, through the host's cgroupfs. */
  for (int k = 0; k < nns; k++) if ((nsfd[k] = open(nspath[k], O_RDONLY | O_CLOEXEC)) < 0) die(setup_code(errno), "open", nspath[k]);
  /* The container's seccomp filter (sock_filter array), a host file: read before the namespaces change. */
  struct sock_fprog filter = { 0, NULL };
  if (seccomp_file) {
    int sf = open(seccomp_file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (sf < 0 || fstat(sf, &st) < 0) die(setup_code(errno), "open", seccomp_file);
    filter.filter = malloc((size_t)st.st_size + 1);
    if (!filter.filter || read(sf, filter.filter, (size_t)st.st_size) != st.st_size) die(setup_code(errno), "read", seccomp_file);
    filter.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
    close(sf);
  }
  /* Without --detach the command is mini's: when mini dies (even by SIGKILL) this shim dies, and
   * with it (below) the command. Checked after setting it: mini may already be gone. */
  pid_t mini_pid = getppid();
  if (!detach && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != mini_pid)) return 137;
  /* The pid file is a host path: opened before the mount namespace changes. */
  int pid_fd = -1;
  if (pid_file && (pid_fd = open(pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) die(setup_code(errno), "open", pid_file);
  /* The container's root when it has no mount namespace of its own (opened while paths are the host's). */
  int root_fd = -1;
  if (root_dir && (root_fd = open(root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) die(setup_code(errno), "open", root_dir);
  for (int k = 0; k < ncg; k++) join_cgroup(cgroups[k]);
  /* execCPUAffinity.final once in the cgroups; without any, every CPU their cpuset allows. */
  if (cpu_final) { if (set_affinity(cpu_final) < 0) die(setup_code(errno), "sched_setaffinity", cpu_final); }
  else if (!cpu_initial && set_affinity(NULL) < 0) fprintf(stderr, "mini: warning: resetting the CPU affinity failed: %s\n", strerror(errno));
  for (int k = 0; k < nns; k++) if (setns(nsfd[k], nsflag[k]) < 0) die(setup_code(errno), "setns", nspath[k]);
  for (int k = 0; k < nns; k++) close(nsfd[k]);
  if (root_fd >= 0) {
    if (fchdir(root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0) die(setup_code(errno), "chroot", root_dir);
    close(root_fd);
  }
  /* The seccomp notify fd comes back from the command's process over this pair (it is loaded there). */
  int sp[2] = { -1, -1 };
  if (listener_fd >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) die(setup_code(errno), "socketpair", "seccomp");

  if (tty) { /* hand the terminal to the command's own session */
    signal(SIGHUP, SIG_IGN);
    ioctl(0, TIOCNOTTY);
    signal(SIGHUP, SIG_DFL);
  }
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) < 0) die(setup_code(errno), "pipe", "");
  pid_t pid = fork(); /* the child is in the container's pid namespace */
  if (pid < 0) die(setup_code(errno), "fork", "");
  if (pid == 0) {
    close(ep[0]);
    if (sp[0] >= 0) close(sp[0]);
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
    syscall(SYS_close_range, 3 + preserve_fds, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
    /* personality, I/O priority and scheduler before the capabilities go (CAP_SYS_NICE). */
    if (persona >= 0 && personality((unsigned long)persona) < 0) report(ep[1], "personality", "linux.personality");
    if (ioprio >= 0 && apply_ioprio((int)ioprio) < 0) report(ep[1], "ioprio_set", "process.ioPriority");
    if (sched && apply_sched(sched) < 0) report(ep[1], "sched_setattr", "process.scheduler");
    umask(umask_v >= 0 ? (mode_t)umask_v : 022);
    /* Without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the privileges go. */
    if (filter.filter && !nnp) {
      long nfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flags, &filter);
      if (nfd < 0) report(ep[1], "seccomp", "SECCOMP_SET_MODE_FILTER");
      if (sp[1] >= 0 && nfd > 0) { send_fd(sp[1], (int)nfd, "s", 1); close((int)nfd); }
    }
    /* The bounding set first (needs CAP_SETPCAP, which the uid change clears), then the ids
     * between KEEPCAPS 1/0, then the capability sets, then ambient (security.ts has the why). */
    if (set_caps)
      for (int c = 0; c <= last_cap; c++)
        if (!(caps[0] >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) report(ep[1], "prctl", "PR_CAPBSET_DROP");
    if (uid >= 0) fix_stdio_owner((uid_t)uid);
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
      /* One the kernel refuses (not permitted and inheritable) is a warning, as with runc. */
      for (int c = 0; c <= last_cap; c++)
        if ((caps[4] >> c & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
          fprintf(stderr, "mini: warning: can't raise ambient capability %d: %s\n", c, errno_name(errno) ? errno_name(errno) : strerror(errno));
    }
    if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) report(ep[1], "prctl", "PR_SET_NO_NEW_PRIVS");
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    /* The same for the command and this shim: set last, since a change of credentials clears it.
     * The shim is outside the pid namespace: seen from here, a live one is parent 0. */
    if (!detach) {
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* a profile denying prctl leaves it to the shim alone */
      if (getppid() != 0) _exit(137);
    }
    if (filter.filter && nnp) {
      long nfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flags, &filter);
      if (nfd < 0) report(ep[1], "seccomp", "SECCOMP_SET_MODE_FILTER");
      if (sp[1] >= 0 && nfd > 0) { send_fd(sp[1], (int)nfd, "s", 1); close((int)nfd); }
    }
    exec_path(ep[1], args);
  }
  close(ep[1]);
  if (sp[1] >= 0) close(sp[1]);
  char msg[4200];
  ssize_t n = read(ep[0], msg, sizeof msg - 1);
  if (n > 0) {
    msg[n] = 0;
    int code = atoi(msg);
    char *text = strchr(msg, ' ');
    fprintf(stderr, "mini: %s\n", text ? text + 1 : msg);
    int st;
    waitpid(pid, &st, 0);
    return setup_code(code);
  }
  /* The notify fd, to the seccomp agent with the container process state (runc's message). */
  if (sp[0] >= 0) {
    int nfd = recv_fd(sp[0]);
    if (nfd >= 0 && seccomp_state && seccomp_state[0] == '{') {
      size_t cap = strlen(seccomp_state) + 32;
      char *json = malloc(cap);
      int len = snprintf(json, cap, "{\"pid\":%d,%s", (int)pid, seccomp_state + 1);
      if (send_fd(listener_fd, nfd, json, (size_t)len) < 0) fprintf(stderr, "mini: warning: sending the seccomp notify fd: %s\n", strerror(errno));
      free(json);
      close(nfd);
    }
    close(sp[0]);
    close(listener_fd);
  }
  if (pidfd_fd >= 0) {
    if (send_pidfd(pidfd_fd, pid) < 0) fprintf(stderr, "mini: warning: sending a pidfd to --pidfd-socket: %s\n", strerror(errno));
    close(pidfd_fd);
  }
  if (pid_fd >= 0) {
    char num[32];
    int len = snprintf(num, sizeof num, "%d", pid);
    if (write_all(pid_fd, num, (size_t)len) < 0) die(setup_code(errno), "write", pid_file);
    close(pid_fd);
  }
  if (detach) return 0;
  exec_child = pid;
  struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
  int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
  for (unsigned k = 0; k < sizeof fwd / sizeof fwd[0]; k++) sigaction(fwd[k], &sa, NULL);
  int st;
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) die(setup_code(errno), "waitpid", "");
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
