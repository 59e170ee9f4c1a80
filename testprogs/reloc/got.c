/* Compiled with -fPIC into the executable: b_data through the GOT. */
extern int b_data;
int *got_b_data(void) { return &b_data; }
