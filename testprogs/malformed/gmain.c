/* The glibc program of the malformed variants: it needs libgmal.so, and
 * with an argument it dlopens that file instead and reports dlerror(). */
#include <dlfcn.h>
#include <stdio.h>

int gmal_value(void);

int main(int argc, char **argv) {
    if (argc > 1) {
        void *h = dlopen(argv[1], RTLD_NOW);
        if (!h) {
            printf("dlopen failed: %s\n", dlerror());
            return 3;
        }
        printf("dlopen ok\n");
        return 0;
    }
    printf("value %d\n", gmal_value());
    return 0;
}
