/* A dlopened library with TLS, built as libdltlsgd.so (general-dynamic),
 * libdltlsdesc.so (TLSDESC) and libdltlsie.so (initial-exec: glibc places
 * it in the static TLS surplus). */
#include <stdint.h>

__thread int tv_init = INITVAL;
__thread long tv_zero;
__thread long tv_al __attribute__((aligned(64))) = 5;
__thread char tv_buf[BUFSIZE];

/* 1 if this thread's copy is the initial image. */
int tls_fresh(void)
{
    int nz = 0;
    for (int i = 0; i < BUFSIZE; i++)
        nz += tv_buf[i] != 0;
    return tv_init == INITVAL && tv_zero == 0 && tv_al == 5 && nz == 0 && ((uintptr_t)&tv_al & 63) == 0;
}
void tls_bump(void)
{
    tv_init++;
    tv_zero += 2;
    tv_al += 3;
    tv_buf[BUFSIZE - 1]++;
}
/* 1 if this thread has bumped exactly n times. */
int tls_check(int n)
{
    return tv_init == INITVAL + n && tv_zero == 2 * n && tv_al == 5 + 3 * n && tv_buf[BUFSIZE - 1] == (char)n;
}
void *tls_addr(void) { return &tv_init; }
