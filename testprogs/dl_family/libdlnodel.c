/* libdlnodel.so: opened with RTLD_NODELETE; libdlnodel2.so is the same
 * built with -z nodelete. */
#include "say.h"
#define S2(x) #x
#define S(x) S2(x)

static int calls;
__attribute__((constructor)) static void init(void) { say("  " S(NAME) ": constructor"); }
__attribute__((destructor)) static void fini(void) { say("  " S(NAME) ": destructor"); }
int nodel_calls(void) { return ++calls; }
