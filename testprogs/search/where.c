/* libwhere.so (and the other libraries of this folder): FN() returns TAG,
 * which names the directory the copy was built for. */
const char *FN(void) { return TAG; }
