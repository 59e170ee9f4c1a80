/* The library of the glibc program of the malformed variants. */
#include <stdio.h>

__thread int gmal_tls = 3;
int gmal_value(void) { return 40 + gmal_tls; }
__attribute__((constructor)) static void ctor(void) { puts("glib ctor"); }
