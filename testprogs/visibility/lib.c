/* libvis.so: protected, hidden and default symbols. The executable defines
 * its own pfunc2, pdata2 and default_data. The words *_ptr start as
 * R_X86_64_64 against default-visibility aliases; relpatch makes those of
 * pdata2_ptr and pfunc2_ptr refer to the protected symbols themselves (the
 * linker would have resolved such references itself). */
#include "nolibc.h"

#define PROTECTED __attribute__((visibility("protected")))
PROTECTED int pfunc(void) { return 1; }
PROTECTED int pdata = 10;
PROTECTED int pfunc2(void) { return 2; }
PROTECTED int pdata2 = 20;
HIDDEN int hfunc(void) { return 3; }
HIDDEN int hdata = 30;
int default_data = 40;

extern int pdata2_alias __attribute__((alias("pdata2"), visibility("default")));
int pfunc2_alias(void) __attribute__((alias("pfunc2"), visibility("default")));
int *pdata2_ptr = &pdata2_alias;
int (*pfunc2_ptr)(void) = pfunc2_alias;
int *default_ptr = &default_data;

int lib_pfunc(void) { return pfunc(); }
void *lib_pfunc_addr(void) { return (void *)pfunc; }
int lib_pdata(void) { return pdata; }
int *lib_pdata_addr(void) { return &pdata; }
int lib_pfunc2(void) { return pfunc2(); }
int lib_pdata2(void) { return pdata2; }
int lib_pdata2_ptr_own(void) { return pdata2_ptr == &pdata2; }
int lib_pfunc2_ptr_own(void) { return pfunc2_ptr == pfunc2; }
int lib_default_data(void) { return default_data; }
int lib_hidden_sum(void) { return hfunc() + hdata; }
