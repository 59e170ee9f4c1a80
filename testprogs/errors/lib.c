/* libgood.so, and the stand-ins used at link time for the broken files the
 * programs need at run time (see the Makefile). */
int good(void) { return 42; }
#ifdef GONE
int gone(void) { return 1; }
#endif
