/* libdlreal.so: the definition of target_fn behind libdlwrap.so's. */
const char *target_fn(void) { return "real"; }
