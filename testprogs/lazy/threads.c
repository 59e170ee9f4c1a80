/* Five threads (raw clone, no TLS) make the first calls to liblazyregs.so's
 * functions at the same time, through lazily bound PLT entries. A trampoline
 * that loses an argument register (integer, xmm, ymm, zmm or %al for varargs)
 * or a callee-saved register shows up as a wrong result. The ymm and zmm
 * functions run only where the CPU and kernel support AVX2 / AVX-512F; the
 * output is the same either way. */
#define NOLIBC_MAIN
#include "nolibc.h"
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

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    struct nl_thread th[NTHREADS];
    detect();
    for (long i = 0; i < NTHREADS; i++) {
        if (nl_thread_start(&th[i], worker, (void *)i, 256 * 1024) < 0) {
            put_line("FAIL: clone");
            return 2;
        }
    }
    go = 1;
    int failed = 0;
    for (int i = 0; i < NTHREADS; i++) {
        int wrong = nl_thread_join(&th[i]);
        put_str("thread "), put_dec(i), put_str(": wrong results: "), put_dec(wrong), put_str("\n");
        failed |= wrong != 0;
    }
    /* And once more on the main thread, every entry now bound. */
    put_kv("main thread: wrong results", worker((void *)NTHREADS));
    return failed;
}
