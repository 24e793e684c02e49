/* mini-shim: the small non-JS process of mini, for the jobs a Bun process can't do well.
 *
 *   monitor  The parent of a detached container (mini run -d). It clones the child stage into
 *            the new namespaces, writes the container's stdout/stderr to its log (CRI format,
 *            size-bounded), records the exit status when it ends, then execs mini's reaper. A
 *            few hundred KiB of RSS instead of a Bun runtime per container.
 *   exec     Joins a running container (user namespace first, then the others; its cgroups),
 *            takes the user, capabilities, no_new_privs and seccomp filter of the process, and
 *            runs a command. Joining user and mount namespaces needs a single-threaded
 *            process: Bun never is.
 *   roexec   Execs mini's child stage from a read-only bind mount of itself (CVE-2019-5736).
 *   init     PID 1 of a container run with --init: forwards signals, reaps, exits with the
 *            command's status (a Bun runtime there would cost ~36 MiB and show mini's host path).
 *
 * Built by scripts/build.ts (gcc -static), embedded in dist/mini and run from a sealed memfd,
 * so no container can reach a host file through /proc/PID/exe (CVE-2019-5736). */
#include "shim.h"

void die(int code, const char *call, const char *what) {
  const char *name = errno_name(errno);
  fprintf(stderr, "mini: %s %s: %s\n", call, what, name ? name : strerror(errno));
  exit(code);
}

int write_all(int fd, const char *buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    buf += w; n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "monitor") == 0) return monitor_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return exec_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "roexec") == 0) return roexec_main(argc - 1, argv + 1);
  if (argc >= 2 && strcmp(argv[1], "init") == 0) return init_main(argc - 1, argv + 1);
  fprintf(stderr, "mini-shim: a helper of mini, not meant to be run by hand (monitor|exec|roexec|init)\n");
  return 125;
}
