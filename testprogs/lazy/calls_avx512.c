/* check_zmm: like calls.c, for the functions taking 512-bit vectors. */
#include "nolibc.h"
#include "regs.h"

EACH_FN(DECL_Z)

static int differ(v8di x, v8di y)
{
    int d = 0;
    for (int i = 0; i < 8; i++)
        d |= x[i] != y[i];
    return d;
}
#define V(k) ((v8di){s + k, s * 3 + k, s * 5 - k, s ^ k, s + 2 * k, s * 7, k, s - k})
#define CASE_Z(n) \
    case FN_INDEX(n): \
        return differ(fz_##n(V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8)), \
                      WANT_VEC(n, V(1), V(2), V(3), V(4), V(5), V(6), V(7), V(8)));
int check_zmm(int idx, long s)
{
    switch (idx) { EACH_FN(CASE_Z) }
    return 1;
}
