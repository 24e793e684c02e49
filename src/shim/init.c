/* mini-shim init: PID 1 of a container run with --init (docker's --init, tini's job). Forks the
 * command, passes every signal it gets on to it, reaps every process the kernel re-parents to it,
 * and exits with the command's status (128+N for a signal) once the command is gone.
 *   init -- PATH ARGV0 ARG...
 * The child stage execs it from a sealed memfd of mini's embedded copy: nothing of the host is
 * reachable through /proc/1/exe. */
#include "shim.h"

static pid_t command;

static void forward(int sig) {
  if (command > 0) kill(command, sig);
}

int init_main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[1], "--") != 0) {
    fprintf(stderr, "mini-shim init: usage: init -- PATH ARGV0 [ARG...]\n");
    return 125;
  }
  const char *path = argv[2];
  prctl(PR_SET_NAME, "mini-init", 0, 0, 0); /* exec'd from an fd, its name would be a number */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old); /* no signal is lost between fork and the handlers */
  command = fork();
  if (command < 0) die(125, "fork", "");
  if (command == 0) {
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    execve(path, argv + 3, environ);
    int e = errno;
    fprintf(stderr, "mini: exec %s: %s\n", argv[3], errno_name(e) ? errno_name(e) : strerror(e));
    _exit(e == ENOENT ? 127 : 126);
  }
  struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
  sigemptyset(&sa.sa_mask);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) sigaction(s, &sa, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      return 125; /* ECHILD without having seen the command: should not happen */
    }
    if (p == command) return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
  }
}
