/* liblazyregs.so: integer, double, mixed and variadic functions. */
#include "nolibc.h"
#include "regs.h"

#define DEF_INT(n) \
    long fi_##n(long a, long b, long c, long d, long e, long f) { return want_int(n, a, b, c, d, e, f); }
#define DEF_DBL(n)                                                                        \
    double fd_##n(double a, double b, double c, double d, double e, double f, double g,   \
                  double h) { return want_dbl(n, a, b, c, d, e, f, g, h); }
#define DEF_MIX(n)                                                                        \
    long fm_##n(long a, double x, long b, double y, long c, double z, long d, double w,   \
                long e, double u, long f, double v, double s, double t)                  \
    {                                                                                     \
        return want_int(n, a, b, c, d, e, f) + (long)want_dbl(n, x, y, z, w, u, v, s, t); \
    }
/* Nine integers (three on the stack) or ten doubles (two on the stack). */
#define DEF_VAI(n)                                 \
    long fvi_##n(int k, ...)                       \
    {                                              \
        __builtin_va_list ap;                      \
        __builtin_va_start(ap, k);                 \
        long h = n;                                \
        for (int i = 0; i < k; i++)                \
            h = h * 31 + __builtin_va_arg(ap, long); \
        __builtin_va_end(ap);                      \
        return h;                                  \
    }
#define DEF_VAD(n)                                             \
    double fvd_##n(int k, ...)                                 \
    {                                                          \
        __builtin_va_list ap;                                  \
        __builtin_va_start(ap, k);                             \
        double h = n;                                          \
        for (int i = 0; i < k; i++)                            \
            h = h * 3 + __builtin_va_arg(ap, double);          \
        __builtin_va_end(ap);                                  \
        return h;                                              \
    }
EACH_FN(DEF_INT)
EACH_FN(DEF_DBL)
EACH_FN(DEF_MIX)
EACH_FN(DEF_VAI)
EACH_FN(DEF_VAD)
