/* A glibc program, for the case of shimld as a glibc program's PT_INTERP.
 * It prints its name and /proc/self/exe without the "-via-shimld" suffix
 * that the copy with shimld as interpreter has. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *plain(char *s) {
    char *suffix = strstr(s, "-via-shimld");
    if (suffix)
        *suffix = 0;
    const char *base = strrchr(s, '/');
    return base ? base + 1 : s;
}

int main(int argc, char **argv) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n < 0 ? 0 : n] = 0;
    printf("argc=%d argv0=%s", argc, plain(argv[0]));
    printf(" exe=%s\n", plain(exe));
    return 0;
}
