/* A program linked with -ljemalloc: malloc, free and mallctl come from
 * jemalloc, for the program and for libc's internal allocations. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

int main(void)
{
    void *ctl = dlsym(RTLD_DEFAULT, "mallctl");
    printf("mallctl through RTLD_DEFAULT: %s\n", ctl ? "found" : "missing");
    printf("it is the one the program calls: %s\n", ctl == (void *)mallctl ? "yes" : "no");
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    const char *where = m && dladdr(m, &info) && info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
    printf("malloc is in %s\n", where ? where + 1 : "(unknown)");

    const char *version = NULL;
    size_t len = sizeof version;
    int r = mallctl("version", &version, &len, NULL, 0);
    printf("mallctl(version): %s\n", r == 0 && version ? "ok" : "failed");

    char *s = strdup("allocated by libc");
    size_t allocated = 0, alen = sizeof allocated;
    unsigned long long epoch = 1;
    size_t elen = sizeof epoch;
    mallctl("epoch", &epoch, &elen, &epoch, elen);
    r = mallctl("stats.allocated", &allocated, &alen, NULL, 0);
    printf("stats.allocated: %s\n", r == 0 ? (allocated > 0 ? "positive" : "zero") : "unavailable");
    void *blocks[1000];
    for (int i = 0; i < 1000; i++)
        blocks[i] = malloc(i * 16 + 1);
    for (int i = 0; i < 1000; i++)
        free(blocks[i]);
    free(s);
    char *p = realloc(NULL, 10);
    p = realloc(p, 100000);
    free(p);
    printf("done\n");
    return 0;
}
