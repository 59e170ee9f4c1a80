/* Prints which object's who() the executable and each library reached, for
 * one dependency graph (SHAPE, see the Makefile). The libraries' NAME_who
 * functions and who() are weak references: ld refuses ordinary ones to libraries the
 * executable does not need directly; the PIE binds them at run time. */
#define NOLIBC_MAIN
#include "nolibc.h"

const char *who(void) __attribute__((weak));
#define SHOW(lib)                                   \
    do {                                            \
        const char *lib##_who(void) __attribute__((weak)); \
        put_str(#lib " calls who(): ");             \
        put_line(lib##_who());                      \
    } while (0)

#if SHAPE == 1
const char *common_fn(void) { return "executable"; }
#endif

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    put_str("executable calls who(): ");
    put_line(who());
#if SHAPE == 1
    SHOW(s1a);
    SHOW(s1b);
    SHOW(s1c);
    const char *s1a_common(void);
    put_str("s1a calls its own exported common_fn(): ");
    put_line(s1a_common());
    put_str("executable calls common_fn(): ");
    put_line(common_fn());
#elif SHAPE == 2
    SHOW(s2a);
    SHOW(s2b);
    SHOW(s2c);
    SHOW(s2d);
#elif SHAPE == 3
    SHOW(s3a);
    SHOW(s3b);
    SHOW(s3c);
    SHOW(s3d);
#elif SHAPE == 4
    SHOW(s4a);
    SHOW(s4b);
    SHOW(s4c);
#endif
    return 0;
}
