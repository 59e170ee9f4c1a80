/* libstartdep.so: makes the non-PIE program dynamic. */
int startdep(void) { return 1; }
