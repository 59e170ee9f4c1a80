/* libdlbasic.so (needs libdldep.so): constructor and destructor messages and
 * a counter in .data/.bss that a fresh load resets. */
#include "say.h"

int dep_value(void);
static int calls;
int basic_counter = 100;

__attribute__((constructor)) static void init(void) { say("  libdlbasic: constructor"); }
__attribute__((destructor)) static void fini(void) { say("  libdlbasic: destructor"); }
int basic_calls(void) { return ++calls + dep_value(); }
