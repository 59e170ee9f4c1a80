/* liblazyregs.so: functions taking eight 512-bit vectors (zmm0-7). */
#include "regs.h"
#define DEF_Z(n) \
    v8di fz_##n(v8di a, v8di b, v8di c, v8di d, v8di e, v8di f, v8di g, v8di h) \
    { return WANT_VEC(n, a, b, c, d, e, f, g, h); }
EACH_FN(DEF_Z)
