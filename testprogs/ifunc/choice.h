/* The IFUNC resolvers choose from the environment variable IFUNC_IMPL, read
 * from /proc/self/environ as resolvers run before _start. They use no
 * relocated data, so they work whenever the loader calls them. */
#include "nolibc.h"

static int choice(void)
{
    char v[16];
    if (!nl_proc_getenv("IFUNC_IMPL", v, sizeof v))
        return 0;
    return v[0] == 'a' ? 1 : v[0] == 'm' ? 2 : 0;
}
