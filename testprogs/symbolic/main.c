/* Defines the names of the four libraries (prefixes plain_, bsym_, bsymf_,
 * dtsym_) and dep_fn; each library reports which definitions it reached. */
#define NOLIBC_MAIN
#include "nolibc.h"

#define DEFINE(P)                                   \
    int P##fn(void) { return 101; }                 \
    int P##var = 110;                               \
    int P##call_fn(void), P##read_var(void);        \
    int P##call_dep(void);                          \
    void *P##fn_addr(void);                         \
    int *P##var_addr(void);                         \
    static void report_##P(void)                    \
    {                                               \
        put_line(#P "lib:");                        \
        put_kv("  fn()", P##call_fn());             \
        put_kv("  var", P##read_var());             \
        put_yesno("  &fn is the executable's", P##fn_addr() == (void *)P##fn); \
        put_yesno("  &var is the executable's", P##var_addr() == &P##var);     \
        put_kv("  dep_fn()", P##call_dep());        \
    }
DEFINE(plain_)
DEFINE(bsym_)
DEFINE(bsymf_)
DEFINE(dtsym_)
int dep_fn(void) { return 103; }

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    report_plain_();
    report_bsym_();
    report_bsymf_();
    report_dtsym_();
    return 0;
}
