/* check_ymm: like calls.c, for the functions taking 256-bit vectors. */
#include "nolibc.h"
#include "regs.h"

EACH_FN(DECL_Y)

static int differ(v4di x, v4di y)
{
    int d = 0;
    for (int i = 0; i < 4; i++)
        d |= x[i] != y[i];
    return d;
}
#define V(k) ((v4di){s + k, s * 3 + k, s * 5 - k, s ^ k})
#define CASE_Y(n) \
    case FN_INDEX(n): \
        return differ(fy_##n(V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8)), \
                      WANT_VEC(n, V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8)));
int check_ymm(int idx, long s)
{
    switch (idx) { EACH_FN(CASE_Y) }
    return 1;
}
