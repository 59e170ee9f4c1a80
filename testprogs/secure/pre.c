/* An object LD_PRELOAD names: it announces itself. */
#include <stdio.h>
__attribute__((constructor)) static void said(void) { puts("preloaded object ran"); }
