/* Calls libver.so's foo, bar and baz; which versions the references carry
 * depends on the libver.so build it was linked against (see the Makefile).
 * With DEP it also calls libverdep.so, which needs foo@V1. */
#define NOLIBC_MAIN
#include "nolibc.h"

int foo(void), bar(void);
#ifdef BAZ
int baz(void), qux(void);
#endif
#ifdef DEP
int dep_foo(void);
#endif

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    put_kv("foo", foo());
    put_kv("bar", bar());
#ifdef BAZ
    put_kv("baz", baz());
    put_kv("qux", qux());
#endif
#ifdef DEP
    put_kv("libverdep's foo", dep_foo());
#endif
    return 0;
}
