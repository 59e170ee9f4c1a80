/* libtlsie.so, built with -ftls-model=initial-exec (DF_STATIC_TLS): its own
 * variables and the executable's through R_X86_64_TPOFF64. */
#include "nolibc.h"

__thread int ie_var = 11;
__thread long ie_aligned __attribute__((aligned(64))) = 12;
__thread char ie_zero[300];
extern __thread int exe_shared;

int *ie_var_addr(void) { return &ie_var; }
long *ie_aligned_addr(void) { return &ie_aligned; }
int *ie_exe_shared_addr(void) { return &exe_shared; }
int ie_zero_nonzero(void)
{
    int n = 0;
    for (int i = 0; i < 300; i++)
        n += ie_zero[i] != 0;
    return n;
}
