/* One source for every library of the shapes in the Makefile. NAME is the
 * library's name; with WHO it defines who(), with COMMON also common_fn(). */
#define STR2(x) #x
#define STR(x) STR2(x)
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)

const char *who(void);
#ifdef WHO
const char *who(void) { return STR(NAME); }
#endif
/* who() as this library's PLT reference binds it. */
const char *CAT(NAME, _who)(void) { return who(); }

#ifdef COMMON
/* Exported and called from this library: the executable's definition must
 * interpose on the call too. */
const char *common_fn(void) { return STR(NAME); }
const char *CAT(NAME, _common)(void) { return common_fn(); }
#endif
