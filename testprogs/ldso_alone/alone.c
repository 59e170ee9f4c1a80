/* A program that needs only the glibc core: libc and libm. What it prints
 * depends on its relocations (functions, variables, COPY relocations of
 * libc's, TLS, a callback from libc), its start (argv, environment, the
 * auxiliary vector) and its end (constructors, destructors, atexit). */
#include <elf.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern void _start(void);
extern const Elf64_Ehdr __ehdr_start;
static __thread int counter = 5;

__attribute__((constructor)) static void early(void) { printf("constructor: counter %d\n", counter++); }
__attribute__((destructor)) static void late(void) { printf("destructor: counter %d\n", counter); }
static void at_exit(void) { printf("atexit handler\n"); }
static int by_value(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(int argc, char **argv) {
    printf("argc %d:", argc);
    for (int i = 0; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN %s\n", execfn ? execfn : "(none)");
    printf("AT_ENTRY is _start: %s\n", getauxval(AT_ENTRY) == (unsigned long)&_start ? "yes" : "no");
    printf("AT_PHDR is the program's: %s\n",
           getauxval(AT_PHDR) == (unsigned long)&__ehdr_start + __ehdr_start.e_phoff ? "yes" : "no");
    printf("environment: SHIMLD_TEST=%s, %d entries seen through environ\n", getenv("SHIMLD_TEST") ?: "(unset)",
           environ && environ[0] ? 1 : 0);
    volatile double x = argc + 1.0;
    printf("libm: sqrt(%g) = %.6f, pow = %.1f\n", (double)x, sqrt(x), pow(x, 3));
    int v[] = {5, 3, 9, 1, 7};
    qsort(v, 5, sizeof v[0], by_value);
    printf("qsort: %d %d %d %d %d\n", v[0], v[1], v[2], v[3], v[4]);
    errno = 0;
    if (access("/nonexistent/file", F_OK) != 0) printf("errno: %s\n", strerror(errno));
    printf("TLS counter %d\n", ++counter);
    fprintf(stderr, "to stderr through libc's stderr\n");
#ifdef READLINK
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    const char *slash = strrchr(buf, '/');
    printf("/proc/self/exe names %s\n", slash ? slash + 1 : buf);
#endif
    atexit(at_exit);
    fflush(stdout);
    return argc > 2 ? 3 : 0;
}
