/* A library with a large RELRO range opened, checked, closed and opened
 * again at run time. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
    for (int round = 1; round <= 2; round++) {
        void *h = dlopen("librelro.so", RTLD_NOW);
        if (!h) {
            printf("dlopen: %s\n", dlerror());
            return 1;
        }
        long (*check)(void) = (long (*)(void))dlsym(h, "lib_check");
        const char *(*which)(void) = (const char *(*)(void))dlsym(h, "interposed");
        printf("round %d: library table %ld wrong, interposed: %s\n", round, check ? check() : -1L,
               which ? which() : "?");
        if (dlclose(h) != 0) {
            printf("dlclose: %s\n", dlerror());
            return 1;
        }
    }
    return 0;
}
