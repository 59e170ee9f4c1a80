/* Built -fPIC into a PIE, so it reaches libvis.so's protected data through
 * the GOT (a COPY of protected data, or a canonical PLT address of a
 * protected function, is refused by ld). Defines its own pfunc2, pdata2 and
 * default_data, exported. */
#define NOLIBC_MAIN
#include "nolibc.h"

extern int pdata;
int pfunc(void);
int lib_pfunc(void), lib_pdata(void), lib_pfunc2(void), lib_pdata2(void);
int lib_pdata2_ptr_own(void), lib_pfunc2_ptr_own(void), lib_default_data(void);
int lib_hidden_sum(void);
void *lib_pfunc_addr(void);
int *lib_pdata_addr(void);
extern int *default_ptr, *pdata2_ptr;
extern int (*pfunc2_ptr)(void);
extern int hfunc(void) __attribute__((weak));
extern int hdata __attribute__((weak));

int pfunc2(void) { return 102; }
int pdata2 = 120;
int default_data = 140;

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    put_kv("pfunc()", pfunc());
    put_kv("pdata", pdata);
    put_check("&pfunc: executable = libvis", (void *)pfunc == lib_pfunc_addr());
    put_check("&pdata: executable = libvis", &pdata == lib_pdata_addr());
    pdata = 11;
    put_kv("libvis reads pdata after the executable wrote 11", lib_pdata());
    put_kv("pfunc2() in the executable", pfunc2());
    put_kv("pfunc2() from libvis", lib_pfunc2());
    put_kv("pdata2 in the executable", pdata2);
    put_kv("pdata2 from libvis", lib_pdata2());
    /* Dynamic relocations in libvis.so against its protected symbols. */
    put_yesno("libvis R_X86_64_64 to protected pdata2 binds to its own", lib_pdata2_ptr_own());
    put_yesno("libvis R_X86_64_64 to protected pdata2 binds to the executable's", pdata2_ptr == &pdata2);
    put_yesno("libvis R_X86_64_64 to protected pfunc2 binds to its own", lib_pfunc2_ptr_own());
    put_kv("pfunc2 through libvis's pointer", pfunc2_ptr());
    /* A default-visibility one for contrast: the executable's wins. */
    put_check("libvis R_X86_64_64 to default_data = executable's", default_ptr == &default_data);
    put_kv("default_data from libvis", lib_default_data());
    put_check("hidden hfunc not exported", hfunc == 0);
    put_check("hidden hdata not exported", &hdata == 0);
    put_kv("libvis's own hfunc() + hdata", lib_hidden_sum());
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
