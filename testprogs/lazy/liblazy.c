/* liblazy.so. The run-time build lacks absent() and absent_var, which the
 * link-time build (-DV1, in v1/) has. */
#include "nolibc.h"

int present(int x) { return x + 1; }
#ifdef V1
int absent(int x) { return x + 2; }
int absent_var = 3;
#endif
