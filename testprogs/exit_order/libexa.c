/* libexa.so (C): a constructor that registers an atexit handler, and a
 * destructor. */
#include <stdlib.h>
#include "say.h"

static void exa_atexit(void) { say("libexa: atexit handler registered by its constructor"); }

__attribute__((constructor)) static void exa_init(void)
{
    say("libexa: constructor");
    atexit(exa_atexit);
}
__attribute__((destructor)) static void exa_fini(void) { say("libexa: destructor"); }
void exa_touch(void) {}
