/* The work of the lazy-threads programs (threads.c without libc,
 * glibc-threads.c with glibc and pthreads): calls every function of
 * liblazyregs.so through its PLT entry, in an order that differs per
 * thread, and counts wrong results. */
#include "regs.h"

int check_int(int, long), check_dbl(int, long), check_mix(int, long);
int check_vai(int, long), check_vad(int, long), check_ymm(int, long), check_zmm(int, long);

#define NTHREADS 5
static volatile int go;
static int have_avx2, have_avx512;

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static void detect(void)
{
    unsigned r[4];
    cpuid(0, 0, r);
    if (r[0] < 7)
        return;
    cpuid(1, 0, r);
    if (!(r[2] & (1u << 27))) /* OSXSAVE */
        return;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    cpuid(7, 0, r);
    have_avx2 = (r[1] & (1u << 5)) && (lo & 0x6) == 0x6;
    have_avx512 = have_avx2 && (r[1] & (1u << 16)) && (lo & 0xe6) == 0xe6;
}

static int worker(void *arg)
{
    long t = (long)arg;
    int wrong = 0;
    while (!go)
        __asm__ volatile("pause");
    for (int rep = 0; rep < 3; rep++) {
        for (int k = 0; k < NFN; k++) {
            int idx = (k + (int)t * 7) % NFN;
            long s = t * 1000 + k * 10 + rep;
            wrong += check_int(idx, s);
            wrong += check_dbl(idx, s);
            wrong += check_mix(idx, s);
            wrong += check_vai(idx, s);
            wrong += check_vad(idx, s);
            if (have_avx2)
                wrong += check_ymm(idx, s);
            if (have_avx512)
                wrong += check_zmm(idx, s);
        }
    }
    return wrong;
}

