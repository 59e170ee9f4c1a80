/* Weak symbols: the first definition in lookup order wins even if weak (the
 * executable's weak wexe too); undefined weak references to absent symbols
 * are 0; weak references to symbols a library defines are bound. */
#define NOLIBC_MAIN
#include "nolibc.h"

int wfunc(void), wa_call(void), wb_call(void), wb_call_wexe(void);
extern int wvar;
int *wa_var(void), *wb_var(void);
int wu_absent_fn_null(void), wu_absent_var_null(void), wu_maybe_fn(void);
extern int absent_fn(void) __attribute__((weak));
extern int absent_var __attribute__((weak));
extern int maybe_fn(void) __attribute__((weak));
extern int late_fn(void) __attribute__((weak));

__attribute__((weak)) int wexe(void) { return 'e'; }

static void put_char_kv(const char *k, int c)
{
    char s[2] = {(char)c, 0};
    put_str(k), put_str("="), put_line(s);
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    put_char_kv("wfunc", wfunc());
    put_char_kv("wfunc from libwa", wa_call());
    put_char_kv("wfunc from libwb", wb_call());
    put_kv("wvar", wvar);
    /* The executable's COPY of wvar is weak like libwa's definition, so
     * under LD_DYNAMIC_WEAK the libraries use libwb's instead. */
    put_yesno("libwa's &wvar = executable's", wa_var() == &wvar);
    put_yesno("libwb's &wvar = executable's", wb_var() == &wvar);
    put_char_kv("wexe from libwb", wb_call_wexe());
    put_char_kv("wexe", wexe());
    put_check("executable: &absent_fn = 0", absent_fn == 0);
    put_check("executable: &absent_var = 0", &absent_var == 0);
    put_check("libwu: &absent_fn = 0", wu_absent_fn_null());
    put_check("libwu: &absent_var = 0", wu_absent_var_null());
    put_kv("executable: maybe_fn()", maybe_fn ? maybe_fn() : -1);
    put_kv("libwu: maybe_fn()", wu_maybe_fn());
    /* Not defined at link time (stub/libwb.so), defined at run time. */
    put_kv("executable: late_fn()", late_fn ? late_fn() : -1);
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
