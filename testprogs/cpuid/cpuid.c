/* What glibc's ld.so made of the processor: the CPU features it found and
 * enabled (<sys/platform/x86.h>), the cache sizes it computed (sysconf),
 * and the string and memory functions libc's IFUNC resolvers chose from
 * them (as offsets into libc, which ASLR does not change). shimld answers
 * ld.so's CPUID instructions from memory (rt/cpuid.rs): all of this must
 * come out as it does natively. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/platform/x86.h>
#include <unistd.h>

#define FEATURE(f) printf("%-20s present %d active %d\n", #f, CPU_FEATURE_PRESENT(f) != 0, CPU_FEATURE_ACTIVE(f) != 0)

static void chosen(const char *name, void *fn) {
    Dl_info info;
    if (dladdr(fn, &info) && info.dli_fbase)
        printf("%-8s libc+0x%lx\n", name, (unsigned long)((char *)fn - (char *)info.dli_fbase));
    else
        printf("%-8s not in an object\n", name);
}

int main(void) {
    FEATURE(SSE2);
    FEATURE(SSSE3);
    FEATURE(SSE4_2);
    FEATURE(POPCNT);
    FEATURE(XSAVE);
    FEATURE(OSXSAVE);
    FEATURE(AVX);
    FEATURE(AVX2);
    FEATURE(BMI2);
    FEATURE(FMA);
    FEATURE(ERMS);
    FEATURE(FSRM);
    FEATURE(RTM);
    FEATURE(AVX512F);
    FEATURE(AVX512BW);
    FEATURE(AVX512VL);
    FEATURE(XSAVEC);
    FEATURE(LZCNT);
    FEATURE(MOVBE);
    FEATURE(RDRAND);
    FEATURE(SHA);
    static const struct { const char *name; int id; } caches[] = {
        {"L1d size", _SC_LEVEL1_DCACHE_SIZE}, {"L1d assoc", _SC_LEVEL1_DCACHE_ASSOC},
        {"L1d line", _SC_LEVEL1_DCACHE_LINESIZE}, {"L1i size", _SC_LEVEL1_ICACHE_SIZE},
        {"L2 size", _SC_LEVEL2_CACHE_SIZE}, {"L2 assoc", _SC_LEVEL2_CACHE_ASSOC},
        {"L2 line", _SC_LEVEL2_CACHE_LINESIZE}, {"L3 size", _SC_LEVEL3_CACHE_SIZE},
        {"L3 assoc", _SC_LEVEL3_CACHE_ASSOC}, {"L4 size", _SC_LEVEL4_CACHE_SIZE},
    };
    for (unsigned i = 0; i < sizeof caches / sizeof caches[0]; i++)
        printf("%-10s %ld\n", caches[i].name, sysconf(caches[i].id));
    /* Through volatile pointers: the resolved IFUNCs, not the PLT. */
    void *volatile fns[] = {(void *)memcpy, (void *)memmove, (void *)memset, (void *)strlen,
                            (void *)strchr, (void *)memcmp, (void *)strcmp, (void *)memchr};
    static const char *names[] = {"memcpy", "memmove", "memset", "strlen", "strchr", "memcmp", "strcmp", "memchr"};
    for (unsigned i = 0; i < sizeof fns / sizeof fns[0]; i++) chosen(names[i], fns[i]);
    return 0;
}
