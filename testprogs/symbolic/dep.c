/* libsymdep.so: dep_fn, also defined (first in search order) by the executable. */
int dep_fn(void) { return 3; }
