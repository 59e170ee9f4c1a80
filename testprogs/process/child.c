/* Run by process through execv and posix_spawn: prints its arguments and an
 * environment variable, reads stdin if asked, exits with 7. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    printf("child:");
    for (int i = 1; i < argc; i++)
        printf(" %s", argv[i]);
    const char *v = getenv("PROCESS_VAR");
    printf(" (PROCESS_VAR=%s)\n", v ? v : "unset");
    if (argc > 1 && strcmp(argv[1], "cat") == 0) {
        char buf[256];
        while (fgets(buf, sizeof buf, stdin))
            printf("child read: %s", buf);
    }
    return 7;
}
