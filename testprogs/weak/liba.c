/* libwa.so: weak definitions of wfunc and wvar. */
__attribute__((weak)) int wfunc(void) { return 'a'; }
__attribute__((weak)) int wvar = 1;
int wa_call(void) { return wfunc(); }
int *wa_var(void) { return &wvar; }
