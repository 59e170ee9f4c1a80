/* libdldep.so: a dependency of libdlbasic.so, loaded and unloaded with it. */
#include "say.h"

__attribute__((constructor)) static void init(void) { say("  libdldep: constructor"); }
__attribute__((destructor)) static void fini(void) { say("  libdldep: destructor"); }
int dep_value(void) { return 1000; }
