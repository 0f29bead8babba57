/* hull-init: the PID 1 of `hull run --init`. It starts the program as its child,
 * forwards every signal it receives to it, reaps every orphan the container's processes
 * leave (a shell script's background jobs, double-forked daemons), and exits with the
 * program's status (128+N when killed by signal N) once the program is gone.
 *
 * Plain C with no library beyond libc so it links statically: it is bind-mounted into
 * containers whose root filesystem has no libraries of the host. Built with
 *   cc -static -Os -o hull-init src/engine/init/hull-init.c
 * and found by hull next to its own binary (or at $HULL_INIT). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
  if (first >= argc) {
    fprintf(stderr, "hull-init: usage: hull-init [--] PROGRAM [ARG...]\n");
    return 125;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);

  pid_t child = fork();
  if (child < 0) {
    perror("hull-init: fork");
    return 125;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* Its own process group in the foreground, as a shell would start it, so that
     * terminal signals and job control reach it rather than this init. */
    setpgid(0, 0);
    if (isatty(STDIN_FILENO)) {
      signal(SIGTTOU, SIG_IGN);
      tcsetpgrp(STDIN_FILENO, getpid());
      signal(SIGTTOU, SIG_DFL);
    }
    execvp(argv[first], argv + first);
    int err = errno;
    fprintf(stderr, "hull-init: exec %s: %s\n", argv[first], strerror(err));
    _exit(err == ENOENT ? 127 : 126);
  }

  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) {
      if (errno == EINTR) continue;
      perror("hull-init: sigwaitinfo");
      return 125;
    }
    if (sig != SIGCHLD) {
      /* Stop signals from a terminal stop nothing here: pass everything else on. */
      if (sig != SIGTSTP && sig != SIGTTOU && sig != SIGTTIN) kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t p = waitpid(-1, &status, WNOHANG);
      if (p <= 0) break;
      if (p == child) {
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      }
    }
  }
}
