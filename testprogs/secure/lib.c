/* libsec.so, built once per place it can be found in. */
const char *sec_who(void) { return WHO; }
