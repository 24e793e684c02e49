/* mini-shim exec's process attributes (runtime-spec 1.2) and fd passing (see exec.c). */
#include "shim.h"

#ifndef SYS_sched_setattr
#define SYS_sched_setattr 314
#endif
#ifndef SYS_ioprio_set
#define SYS_ioprio_set 251
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* "0-3,7" → set; 0 on success, -1 on a malformed list. */
int parse_cpu_list(const char *s, cpu_set_t *set) {
  CPU_ZERO(set);
  while (*s) {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s) return -1;
    if (*end == '-') { s = end + 1; b = strtol(s, &end, 10); if (end == s) return -1; }
    for (long c = a; c <= b && c < CPU_SETSIZE; c++) CPU_SET((int)c, set);
    if (*end == ',') end++;
    else if (*end) return -1;
    s = end;
  }
  return 0;
}

/* sched_setaffinity of this thread to `list`, or to every CPU (the cgroup's cpuset then decides)
 * when `list` is NULL. */
int set_affinity(const char *list) {
  cpu_set_t set;
  if (list) { if (parse_cpu_list(list, &set) < 0) { errno = EINVAL; return -1; } }
  else memset(&set, 0xff, sizeof set);
  return sched_setaffinity(0, sizeof set, &set);
}

struct mini_sched_attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
  uint32_t util_min, util_max;
};

/* "policy,flags,nice,priority,runtime,deadline,period" → sched_setattr of this thread. */
int apply_sched(const char *spec) {
  struct mini_sched_attr a;
  memset(&a, 0, sizeof a);
  long long nice;
  unsigned long long flags;
  if (sscanf(spec, "%u,%llu,%lld,%u,%llu,%llu,%llu", &a.policy, &flags, &nice, &a.priority,
             (unsigned long long *)&a.runtime, (unsigned long long *)&a.deadline,
             (unsigned long long *)&a.period) != 7) { errno = EINVAL; return -1; }
  a.size = sizeof a;
  a.flags = flags;
  a.nice = (int32_t)nice;
  return (int)syscall(SYS_sched_setattr, 0, &a, 0);
}

/* ioprio_set(IOPRIO_WHO_PROCESS, 0, prio): this thread (runc's choice). */
int apply_ioprio(int prio) { return (int)syscall(SYS_ioprio_set, 1, 0, prio); }

/* The command's stdio owned by its user (runc's fixStdioPermissions, security.ts has the why):
 * pipes, sockets and ptys of the container's own devpts; the group stays. */
void fix_stdio_owner(uid_t uid) {
  struct stat pts;
  int have_pts = stat("/dev/pts/ptmx", &pts) == 0;
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_uid == uid) continue;
    int ours = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || (S_ISCHR(st.st_mode) && have_pts && st.st_dev == pts.st_dev);
    if (ours) (void)!fchown(fd, uid, (gid_t)-1);
  }
}

/* sendmsg of `data` with `fd` as SCM_RIGHTS. */
int send_fd(int sock, int fd, const char *data, size_t len) {
  char cbuf[CMSG_SPACE(sizeof(int))];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = { (void *)data, len };
  struct msghdr msg = { 0 };
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

/* recvmsg of one fd (-1 when none came). */
int recv_fd(int sock) {
  char cbuf[CMSG_SPACE(sizeof(int))], b[1];
  struct iovec iov = { b, 1 };
  struct msghdr msg = { 0 };
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

/* A pidfd of `pid` over the engine's --pidfd-socket connection (runc sends the process's name). */
int send_pidfd(int sock, pid_t pid) {
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return -1;
  int r = send_fd(sock, pidfd, "pidfd", 5);
  close(pidfd);
  return r;
}
