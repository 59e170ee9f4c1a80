/* libdlprov.so: defines what libdlcons.so uses without needing it. */
int prov_var = 40;
int prov_value(void) { return prov_var + 2; }
