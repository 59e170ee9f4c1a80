/* libinterp.so: a function, data and an initial-exec TLS variable. */
int lib_data = 17;
int lib_fn(int x) { return x + 100; }
__thread int lib_tls = 23;
int *lib_tls_addr(void) { return &lib_tls; }
