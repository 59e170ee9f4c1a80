/* libdlcons.so: uses prov_value without a DT_NEEDED for its provider (data
 * and function both, so that even RTLD_LAZY needs the definition). */
extern int prov_var;
int prov_value(void);
int cons_value(void) { return prov_value() * 10 + prov_var; }
