/* libexc.so (needs libexa.so), dlopened by `exit-order dlopen` and left open:
 * its constructor registers an atexit handler, which runs when the library's
 * finaliser does. */
#include <stdlib.h>
#include "say.h"

void exa_touch(void);
static void exc_atexit(void) { say("libexc: atexit handler registered by its constructor"); }
__attribute__((constructor)) static void exc_init(void)
{
    say("libexc: constructor");
    atexit(exc_atexit);
    exa_touch();
}
__attribute__((destructor)) static void exc_fini(void) { say("libexc: destructor"); }
