/* The smallest dynamic case: a libc-free PIE that prints its arguments. */
#define NOLIBC_MAIN
#include "nolibc.h"

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    put_line("hello from a libc-free program");
    put_kv("argc", argc);
    for (int i = 1; i < argc; i++)
        put_line(argv[i]);
    return 42;
}
