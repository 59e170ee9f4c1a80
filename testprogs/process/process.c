/* Processes and signals with glibc:
 *   signals  sigaction SIGUSR1 + raise, a blocked signal delivered on
 *            unblock, SIGSEGV on a NULL write recovered with siglongjmp,
 *            alarm interrupting pause
 *   fork     fork + waitpid, the child printing; exit status and signal
 *   exec     fork + execv of ./process-child, its output through a pipe
 *   spawn    posix_spawn of ./process-child with stdin from a pipe
 *   system   system("echo hi") and popen
 *   pipe     a pipe between parent and child, both ways
 * With no argument, runs them all. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_parts.h"

static volatile sig_atomic_t usr1_count, usr2_count, alarm_count;
static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (sig == SIGUSR1 && si->si_signo == SIGUSR1 && si->si_pid == getpid())
        usr1_count++;
}
static void on_usr2(int sig) { (void)sig; usr2_count++; }
static void on_alarm(int sig) { (void)sig; alarm_count++; }

static sigjmp_buf segv_jump;
static void on_segv(int sig) { siglongjmp(segv_jump, sig); }

static void status_line(const char *who, int status)
{
    if (WIFEXITED(status))
        printf("%s exited with %d\n", who, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("%s killed by signal %d\n", who, WTERMSIG(status));
    else
        printf("%s: status %#x\n", who, status);
}

static void test_signals(void)
{
    struct sigaction sa = { 0 };
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    kill(getpid(), SIGUSR1);
    printf("SIGUSR1 handled: %d times\n", (int)usr1_count);

    signal(SIGUSR2, on_usr2);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, &old);
    raise(SIGUSR2);
    sigset_t pending;
    sigpending(&pending);
    printf("SIGUSR2 pending while blocked: %s, handled: %d\n", sigismember(&pending, SIGUSR2) ? "yes" : "no",
           (int)usr2_count);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("SIGUSR2 handled after unblocking: %d\n", (int)usr2_count);

    struct sigaction segv = { 0 };
    segv.sa_handler = on_segv;
    sigemptyset(&segv.sa_mask);
    sigaction(SIGSEGV, &segv, NULL);
    int sig = sigsetjmp(segv_jump, 1);
    if (sig == 0) {
        *(volatile int *)0 = 1;
        printf("NULL write did not fault\n");
    } else
        printf("recovered from signal %d with siglongjmp\n", sig);
    /* The signal mask was restored: SIGSEGV is not blocked. */
    sigprocmask(SIG_BLOCK, NULL, &set);
    printf("SIGSEGV blocked after siglongjmp: %s\n", sigismember(&set, SIGSEGV) ? "yes" : "no");
    signal(SIGSEGV, SIG_DFL);

    signal(SIGALRM, on_alarm);
    alarm(1);
    int r = pause();
    printf("pause returned %d (%s), alarms %d\n", r, r == -1 && errno == EINTR ? "EINTR" : "?", (int)alarm_count);
}

static void test_fork(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("forked child: my parent is the test: %s\n", getppid() > 1 ? "yes" : "no");
        exit(12);
    }
    int status;
    printf("waitpid returned the child: %s\n", waitpid(pid, &status, 0) == pid ? "yes" : "no");
    status_line("forked child", status);

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        raise(SIGTERM);
        _exit(0);
    }
    waitpid(pid, &status, 0);
    status_line("second child", status);
}

static void test_exec(void)
{
    int fds[2], r;
    pipe(fds);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        setenv("PROCESS_VAR", "from-execv", 1);
        char *args[] = { "./process-child", "one", "two", NULL };
        execv(args[0], args);
        perror("execv");
        _exit(127);
    }
    close(fds[1]);
    char buf[512];
    ssize_t n, len = 0;
    while ((n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += n;
    buf[len] = 0;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    printf("through the pipe: %s", buf);
    status_line("execv child", status);
    char *none[] = { "./no-such-program", NULL };
    r = execv(none[0], none);
    printf("execv of a missing file: %d (%s)\n", r, strerror(errno));
}

static void test_spawn(void)
{
    int fds[2];
    pipe(fds);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    char *args[] = { "./process-child", "cat", NULL };
    char *env[] = { "PROCESS_VAR=from-posix_spawn", "PATH=/usr/bin:/bin", NULL };
    fflush(stdout);
    pid_t pid;
    int r = posix_spawn(&pid, args[0], &fa, NULL, args, env);
    printf("posix_spawn: %s\n", r == 0 ? "ok" : strerror(r));
    fflush(stdout);
    close(fds[0]);
    const char *msg = "line one\nline two\n";
    write(fds[1], msg, strlen(msg));
    close(fds[1]);
    int status;
    waitpid(pid, &status, 0);
    status_line("spawned child", status);
    posix_spawn_file_actions_destroy(&fa);

    char *pargs[] = { "sh", "-c", "exit 3", NULL };
    r = posix_spawnp(&pid, "sh", NULL, NULL, pargs, env);
    waitpid(pid, &status, 0);
    printf("posix_spawnp sh: %s, ", r == 0 ? "ok" : strerror(r));
    status_line("sh", status);
}

static void test_system(void)
{
    fflush(stdout);
    int r = system("echo hi");
    printf("system(echo hi) returned %d\n", r);
    r = system("exit 4");
    printf("system(exit 4): exit status %d\n", WEXITSTATUS(r));
    printf("system(NULL): shell available: %s\n", system(NULL) ? "yes" : "no");
    FILE *p = popen("echo from popen; echo second line", "r");
    char line[100];
    while (fgets(line, sizeof line, p))
        printf("popen read: %s", line);
    printf("pclose: %d\n", WEXITSTATUS(pclose(p)));
}

static void test_pipe(void)
{
    int down[2], up[2];
    pipe(down);
    pipe(up);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(down[1]);
        close(up[0]);
        char buf[64];
        ssize_t n = read(down[0], buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++)
            buf[i] = buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i];
        write(up[1], buf, n);
        _exit(0);
    }
    close(down[0]);
    close(up[1]);
    write(down[1], "ping pong", 9);
    close(down[1]);
    char buf[64];
    ssize_t n = read(up[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("child answered: %s\n", buf);
    int status;
    waitpid(pid, &status, 0);
    status_line("pipe child", status);
}

int main(int argc, char **argv)
{
    const struct test_part tests[] = { { "signals", test_signals }, { "fork", test_fork },     { "exec", test_exec },
                  { "spawn", test_spawn },     { "system", test_system }, { "pipe", test_pipe } };
    return run_parts(argc, argv, tests, sizeof tests / sizeof *tests, 0);
}
