/* The functions of liblazyregs.so and the values they must return: each mixes
 * every argument in an order-dependent way, so an argument register that the
 * lazy-binding trampoline clobbers gives a wrong result. */
#define NL8(M, p) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7)
#define EACH_FN(M) NL8(M, 1) NL8(M, 2) NL8(M, 3) NL8(M, 4)
#define NFN 32 /* functions of each kind; numbered 10..17, 20..27, ... 40..47 */
#define FN_INDEX(n) (((n) / 10 - 1) * 8 + (n) % 10)

typedef long long v4di __attribute__((vector_size(32)));
typedef long long v8di __attribute__((vector_size(64)));

static inline long want_int(long n, long a, long b, long c, long d, long e, long f)
{
    long h = n;
    h = h * 1000003 ^ a;
    h = h * 1000003 ^ b;
    h = h * 1000003 ^ c;
    h = h * 1000003 ^ d;
    h = h * 1000003 ^ e;
    h = h * 1000003 ^ f;
    return h;
}
static inline double want_dbl(long n, double a, double b, double c, double d, double e,
                              double f, double g, double h)
{
    return (double)n + a * 2 + b * 3 + c * 5 + d * 7 + e * 11 + f * 13 + g * 17 + h * 19;
}
#define WANT_VEC(n, a, b, c, d, e, f, g, h) \
    ((a) + ((b) << 1) + ((c) << 2) + ((d) << 3) + ((e) << 4) + ((f) << 5) + ((g) << 6) + ((h) << 7) + (n))

#define DECL_INT(n) long fi_##n(long, long, long, long, long, long);
#define DECL_DBL(n) double fd_##n(double, double, double, double, double, double, double, double);
#define DECL_MIX(n) long fm_##n(long, double, long, double, long, double, long, double, long, \
                                double, long, double, double, double);
#define DECL_VAI(n) long fvi_##n(int, ...);
#define DECL_VAD(n) double fvd_##n(int, ...);
#define DECL_Y(n) v4di fy_##n(v4di, v4di, v4di, v4di, v4di, v4di, v4di, v4di);
#define DECL_Z(n) v8di fz_##n(v8di, v8di, v8di, v8di, v8di, v8di, v8di, v8di);
