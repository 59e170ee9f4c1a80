/* libwb.so: strong definitions of wfunc, wvar and wexe (which the executable
 * defines weakly), and maybe_fn. The run-time build also has late_fn, which
 * the link-time build (STUB, in stub/) lacks. */
int wfunc(void) { return 'b'; }
int wvar = 2;
int wb_call(void) { return wfunc(); }
int *wb_var(void) { return &wvar; }
int wexe(void) { return 'l'; }
int wb_call_wexe(void) { return wexe(); }
int maybe_fn(void) { return 55; }
#ifndef STUB
int late_fn(void) { return 66; }
#endif
