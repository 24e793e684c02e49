/* mini-shim roexec: the child stage from a read-only bind mount of mini (see main.c). */
#include "shim.h"


/* usage: roexec PATH ARG0 ARG...
 * Execs PATH from a read-only bind mount of itself, made in a private mount namespace: the
 * running binary's /proc/PID/exe then leads to a read-only mount, so a container process that
 * grabs it can never write the host's mini (CVE-2019-5736), and no copy of a 100 MiB binary is
 * needed. The mount namespace is the child stage's to replace with the container's. */
void read_only_self(const char *path) {
  if (unshare(CLONE_NEWNS) < 0) die(125, "unshare", "CLONE_NEWNS");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die(125, "mount", "/ rprivate");
  if (mount(path, path, NULL, MS_BIND, NULL) < 0) die(125, "mount bind", path);
  if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0) die(125, "mount remount ro", path);
}

int roexec_main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "mini-shim roexec: too few arguments\n"); return 125; }
  const char *path = argv[1];
  read_only_self(path);
  execve(path, &argv[2], environ);
  die(127, "execve", path);
  return 127;
}
