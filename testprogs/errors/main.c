/* Calls good() (and, with GONE, gone()) from whatever library provides it;
 * most cases stop in the loader before main. */
#define NOLIBC_MAIN
#include "nolibc.h"

int good(void);
#ifdef GONE
int gone(void);
#endif

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    put_kv("good()", good());
#ifdef GONE
    put_kv("gone()", gone());
#endif
    return 0;
}
