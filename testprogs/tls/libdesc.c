/* libtlsdesc.so, built with -mtls-dialect=gnu2: TLS descriptors
 * (R_X86_64_TLSDESC) for its own variables, libtlsie's and the executable's. */
#include "nolibc.h"

__thread int desc_var = 41;
__thread int desc_aligned __attribute__((aligned(256))) = 42;
int desc_global = 43;
__thread int *desc_ptr = &desc_global; /* .tdata holding a relocated address */
extern __thread int ie_var, exe_shared;

int *desc_var_addr(void) { return &desc_var; }
int *desc_aligned_addr(void) { return &desc_aligned; }
int *desc_ie_var_addr(void) { return &ie_var; }
int *desc_exe_shared_addr(void) { return &exe_shared; }
int desc_ptr_ok(void) { return desc_ptr == &desc_global && *desc_ptr == 43; }
