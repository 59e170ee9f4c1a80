/* The program's $ORIGIN where start-up needed none (no $ORIGIN in its
 * run-path or DT_NEEDED): dlopen("$ORIGIN/...") and dlinfo's
 * RTLD_DI_ORIGIN still find the program's directory when asked, after the
 * program has left it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    (void)argc;
    char want[PATH_MAX], origin[PATH_MAX];
    if (!realpath(argv[0], want))
        return 2;
    *strrchr(want, '/') = 0;
    if (chdir("/") != 0)
        return 3;
    void *h = dlopen("$ORIGIN/libdlprov.so", RTLD_NOW);
    printf("dlopen $ORIGIN/libdlprov.so: %s\n", h ? "loaded" : dlerror());
    void *self = dlopen(NULL, RTLD_NOW);
    if (self && dlinfo(self, RTLD_DI_ORIGIN, origin) == 0)
        printf("RTLD_DI_ORIGIN is the program's directory: %s\n", strcmp(origin, want) == 0 ? "yes" : origin);
    else
        printf("RTLD_DI_ORIGIN failed: %s\n", dlerror());
    return 0;
}
