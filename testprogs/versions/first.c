/* libverfirst.so: unversioned definitions of libver.so's names, found first.
 * The STUB build (link time) defines none of them, so that the executable's
 * references stay versioned references to libver.so. */
#ifndef STUB
int foo(void) { return 101; }
int bar(void) { return 110; }
int baz(void) { return 130; }
int qux(void) { return 140; }
#endif
int first_present(void) { return 1; }
