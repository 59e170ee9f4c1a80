/* References absent() from liblazy.so, which the run-time library lacks.
 * With lazy binding nothing happens until the call (made only with CALL);
 * with ADDR, absent's address is taken (a non-PLT relocation). */
#define NOLIBC_MAIN
#include "nolibc.h"

int present(int), absent(int);
#ifdef ADDR
int (*absent_ptr)(int) = absent;
#endif

int main(int argc, char **argv, char **envp)
{
    (void)argv, (void)envp;
    put_kv("present(1)", present(1));
#ifdef CALL
    put_line("calling absent()");
    put_kv("absent(1)", absent(1));
#else
    if (argc > 1000)
        absent(1); /* a PLT reference, never called */
#endif
    put_line("done");
    return 0;
}
