/* libdllazy.so: calls a function nothing defines, from a function never
 * called: RTLD_LAZY loads it, RTLD_NOW does not. */
void never_defined(void);
void lazy_unused(void) { never_defined(); }
int lazy_value(void) { return 5; }
