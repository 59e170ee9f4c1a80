/* libwu.so: undefined weak references. absent_* exist nowhere; maybe_fn is
 * defined by libwb.so, which libwu.so does not need. */
extern int absent_fn(void) __attribute__((weak));
extern int absent_var __attribute__((weak));
extern int maybe_fn(void) __attribute__((weak));
int wu_absent_fn_null(void) { return absent_fn == 0; }
int wu_absent_var_null(void) { return &absent_var == 0; }
int wu_maybe_fn(void) { return maybe_fn ? maybe_fn() : -1; }
