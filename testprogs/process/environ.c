/* The environment through `environ`, which a non-PIC reference (in a PIE
 * too) reaches through a COPY relocation of libc's variable: libc's getenv,
 * setenv and clearenv must see and update the program's copy, and a child
 * started with execve(environ) must get it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int count(void)
{
    int n = 0;
    for (char **e = environ; *e; e++)
        n++;
    return n;
}

int main(void)
{
    printf("variables: %d\n", count());
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "ENVIRON_", 8) == 0)
            printf("environ has %s\n", *e);
    printf("getenv(ENVIRON_A): %s\n", getenv("ENVIRON_A") ? getenv("ENVIRON_A") : "(null)");
    setenv("ENVIRON_B", "set-by-setenv", 1);
    int seen = 0;
    for (char **e = environ; *e; e++)
        seen += strcmp(*e, "ENVIRON_B=set-by-setenv") == 0;
    printf("setenv visible through environ: %s, variables: %d\n", seen ? "yes" : "no", count());
    static char *mine[] = { "ENVIRON_C=assigned", "PATH=/usr/bin:/bin", NULL };
    environ = mine;
    printf("getenv after assigning environ: %s\n", getenv("ENVIRON_C") ? getenv("ENVIRON_C") : "(null)");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *args[] = { "./process-child", "from-environ", NULL };
        execve(args[0], args, environ);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child exit status %d\n", WEXITSTATUS(status));
    clearenv();
    printf("after clearenv: environ %s\n", environ == NULL || *environ == NULL ? "empty" : "not empty");
    return 0;
}
