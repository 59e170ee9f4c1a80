/* Unbuffered output for constructors and destructors, so their messages
 * land where they happen relative to the program's (which flushes). */
#include <string.h>
#include <unistd.h>
static inline void say(const char *s)
{
    ssize_t r = write(1, s, strlen(s));
    r = write(1, "\n", 1);
    (void)r;
}
