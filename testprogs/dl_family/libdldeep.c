/* libdldeep1.so / libdldeep2.so: define deep_fn, which the program defines
 * too, and call it. The program's wins unless the library is opened with
 * RTLD_DEEPBIND. */
const char *deep_fn(void) { return "library's deep_fn"; }
const char *deep_call(void) { return deep_fn(); }
