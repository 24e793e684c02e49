/* mini-shim roexec: the child stage from a read-only bind mount of mini (see main.c). */
#include "shim.h"


/* usage: roexec [--ns PATH:FLAG]... PATH ARG0 ARG...
 * Execs PATH from a read-only bind mount of itself, made in a private mount namespace: the
 * running binary's /proc/PID/exe then leads to a read-only mount, so a container process that
 * grabs it can never write the host's mini (CVE-2019-5736), and no copy of a 100 MiB binary is
 * needed. The mount namespace is the child stage's to replace with the container's.
 * --ns: a namespace to join first (hex clone flag): a time namespace, which only a
 * single-threaded process may join. */
void read_only_self(const char *path) {
  if (unshare(CLONE_NEWNS) < 0) die(125, "unshare", "CLONE_NEWNS");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die(125, "mount", "/ rprivate");
  if (mount(path, path, NULL, MS_BIND, NULL) < 0) die(125, "mount bind", path);
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) die(125, "mount remount ro", path);
}

int roexec_main(int argc, char **argv) {
  int i = 1;
  for (; i + 1 < argc && strcmp(argv[i], "--ns") == 0; i += 2) {
    char *c = strrchr(argv[i + 1], ':');
    if (!c) { fprintf(stderr, "mini-shim roexec: --ns PATH:FLAG\n"); return 125; }
    *c = 0;
    int fd = open(argv[i + 1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(125, "open", argv[i + 1]);
    if (setns(fd, (int)strtol(c + 1, NULL, 16)) < 0) die(125, "setns", argv[i + 1]);
    close(fd);
  }
  if (argc - i < 2) { fprintf(stderr, "mini-shim roexec: too few arguments\n"); return 125; }
  const char *path = argv[i];
  read_only_self(path);
  execve(path, &argv[i + 1], environ);
  die(127, "execve", path);
  return 127;
}
