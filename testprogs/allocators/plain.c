/* An ordinary program for the preload cases: whatever malloc is first in
 * the search order serves the program and libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    const char *where = m && dladdr(m, &info) && info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
    printf("malloc is in %s\n", where ? where + 1 : "(unknown)");
    printf("mallctl: %s\n", dlsym(RTLD_DEFAULT, "mallctl") ? "present" : "absent");
    printf("tc_malloc: %s\n", dlsym(RTLD_DEFAULT, "tc_malloc") ? "present" : "absent");
    char *s = strdup("text");
    void *blocks[500];
    for (int i = 0; i < 500; i++)
        blocks[i] = calloc(i + 1, 8);
    for (int i = 0; i < 500; i++)
        free(blocks[i]);
    char *q = NULL;
    if (asprintf(&q, "%s and %d", s, 42) > 0)
        printf("%s\n", q);
    free(q);
    free(s);
    return 0;
}
