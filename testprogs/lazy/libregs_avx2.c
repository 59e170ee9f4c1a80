/* liblazyregs.so: functions taking eight 256-bit vectors (ymm0-7). */
#include "regs.h"
#define DEF_Y(n) \
    v4di fy_##n(v4di a, v4di b, v4di c, v4di d, v4di e, v4di f, v4di g, v4di h) \
    { return WANT_VEC(n, a, b, c, d, e, f, g, h); }
EACH_FN(DEF_Y)
