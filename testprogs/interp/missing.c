/* A libc-free program whose PT_INTERP names no file, with enough RELATIVE
 * relocations that shimld caches its closure. Started as a command, shimld
 * runs it: it needs no interpreter of the program's (its libc.so.6 is no
 * glibc's), and looking early for the glibc handover's ld.so must not
 * stop it. */
#define NOLIBC_MAIN
#include "nolibc.h"

static int x;
#define R8 &x, &x, &x, &x, &x, &x, &x, &x
#define R64 R8, R8, R8, R8, R8, R8, R8, R8
#define R512 R64, R64, R64, R64, R64, R64, R64, R64
int *table[1536] = {R512, R512, R512};

int main(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    (void)envp;
    for (int i = 0; i < 1536; i++)
        if (table[i] != &x)
            return 1;
    sys_write(1, "ran without its interpreter\n", 28);
    return 0;
}
