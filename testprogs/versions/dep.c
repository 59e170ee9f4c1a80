/* libverdep.so, linked against the V1 build of libver.so: needs foo@V1. */
int foo(void);
int dep_foo(void) { return foo(); }
