/* Calls through the PLT for lazy-threads: each check_* calls function number
 * idx (0..NFN-1) of its kind with arguments made from seed and returns 1 if
 * the result is wrong. */
#include "nolibc.h"
#include "regs.h"

EACH_FN(DECL_INT) EACH_FN(DECL_DBL) EACH_FN(DECL_MIX) EACH_FN(DECL_VAI) EACH_FN(DECL_VAD)

#define A6 s * 7 + 1, s * 11 + 2, s * 13 + 3, s * 17 + 4, s * 19 + 5, s * 23 + 6
#define D8 (double)(s % 97), (double)(s % 89 + 1), (double)(s % 83 + 2), (double)(s % 79 + 3), \
    (double)(s % 73 + 4), (double)(s % 71 + 5), (double)(s % 67 + 6), (double)(s % 61 + 7)

#define CASE_INT(n) case FN_INDEX(n): return fi_##n(A6) != want_int(n, A6);
int check_int(int idx, long s)
{
    switch (idx) { EACH_FN(CASE_INT) }
    return 1;
}
#define CASE_DBL(n) case FN_INDEX(n): return fd_##n(D8) != want_dbl(n, D8);
int check_dbl(int idx, long s)
{
    switch (idx) { EACH_FN(CASE_DBL) }
    return 1;
}
#define CASE_MIX(n)                                                                          \
    case FN_INDEX(n):                                                                        \
        return fm_##n(s + 1, (double)(s % 31), s + 2, 2.0, s + 3, 3.0, s + 4, 4.0, s + 5, 5.0,  \
                      s + 6, 6.0, 7.0, 8.0) !=                                               \
               want_int(n, s + 1, s + 2, s + 3, s + 4, s + 5, s + 6) +                       \
                   (long)want_dbl(n, (double)(s % 31), 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0);
int check_mix(int idx, long s)
{
    switch (idx) { EACH_FN(CASE_MIX) }
    return 1;
}
static long want_vai(long n, long s)
{
    long h = n;
    for (int i = 0; i < 9; i++)
        h = h * 31 + (s + i * 5);
    return h;
}
#define CASE_VAI(n) \
    case FN_INDEX(n): \
        return fvi_##n(9, s, s + 5, s + 10, s + 15, s + 20, s + 25, s + 30, s + 35, s + 40) != want_vai(n, s);
int check_vai(int idx, long s)
{
    switch (idx) { EACH_FN(CASE_VAI) }
    return 1;
}
static double want_vad(long n, long s)
{
    double h = (double)n;
    for (int i = 0; i < 10; i++)
        h = h * 3 + (double)(s % 50 + i);
    return h;
}
#define VD(i) (double)(s % 50 + i)
#define CASE_VAD(n) \
    case FN_INDEX(n): \
        return fvd_##n(10, VD(0), VD(1), VD(2), VD(3), VD(4), VD(5), VD(6), VD(7), VD(8), VD(9)) != want_vad(n, s);
int check_vad(int idx, long s)
{
    switch (idx) { EACH_FN(CASE_VAD) }
    return 1;
}
