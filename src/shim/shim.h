/* mini-shim's shared declarations: see main.c for what the shim is. */
#ifndef MINI_SHIM_H
#define MINI_SHIM_H
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/personality.h>
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

/* Prints "mini: CALL WHAT: ERRNO-NAME" and exits with `code`. */
void die(int code, const char *call, const char *what);
const char *errno_name(int e); /* errname.c */
/* write(2) until done; 0, or -1 on an error. */
int write_all(int fd, const char *buf, size_t n);
/* unshare a mount namespace and bind `path` read-only over itself (roexec.c). */
void read_only_self(const char *path);

/* exec-attrs.c: the process attributes of runtime-spec 1.2, and fd passing. */
int set_affinity(const char *list);
int apply_sched(const char *spec);
int apply_ioprio(int prio);
void fix_stdio_owner(uid_t uid);
int send_fd(int sock, int fd, const char *data, size_t len);
int recv_fd(int sock);
int send_pidfd(int sock, pid_t pid);

int monitor_main(int argc, char **argv);
int exec_main(int argc, char **argv);
int roexec_main(int argc, char **argv);
int init_main(int argc, char **argv);

#endif
