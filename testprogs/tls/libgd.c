/* libtlsgd.so, built with the default (general-dynamic) model: GD for the
 * exported variables, LD for the static ones; both call ld.so's
 * __tls_get_addr (R_X86_64_DTPMOD64/DTPOFF64). */
#include "nolibc.h"

__thread int gd_var = 21;
static __thread int ld_a = 31;
static __thread int ld_b = 32;
static __thread char ld_zero[500];
int gd_global = 22;
__thread int *gd_ptr = &gd_global; /* .tdata holding a relocated address */
extern __thread int ie_var, desc_var, exe_shared;

int *gd_var_addr(void) { return &gd_var; }
int *gd_ie_var_addr(void) { return &ie_var; }
int *gd_desc_var_addr(void) { return &desc_var; }
int *gd_exe_shared_addr(void) { return &exe_shared; }
int gd_ld_sum(void) { return ld_a + ld_b; }
int gd_ld_distinct(void) { return &ld_a != &ld_b && (char *)&ld_b - (char *)&ld_a < 64; }
int gd_ld_zero_nonzero(void)
{
    int n = 0;
    for (int i = 0; i < 500; i++)
        n += ld_zero[i] != 0;
    return n;
}
int gd_ptr_ok(void) { return gd_ptr == &gd_global && *gd_ptr == 22; }
