/* One library source, built four ways with its names prefixed by P (see the
 * Makefile): plain, -Bsymbolic, -Bsymbolic-functions, and plain with a
 * DT_SYMBOLIC tag added afterwards by relpatch (so the loader, not ld, must
 * bind the references to the library's own definitions). The executable
 * defines every P##fn and P##var too, and dep_fn. */
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define N(x) CAT(P, x)

int N(fn)(void) { return 1; }
int N(var) = 10;
int N(call_fn)(void) { return N(fn)(); }
int N(read_var)(void) { return N(var); }
void *N(fn_addr)(void) { return (void *)N(fn); }
int *N(var_addr)(void) { return &N(var); }
/* Not defined here: DT_SYMBOLIC does not change where it is found. */
int dep_fn(void);
int N(call_dep)(void) { return dep_fn(); }
