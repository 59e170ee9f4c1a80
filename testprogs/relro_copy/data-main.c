/* A library with a large writable segment of relocated pointers (see
 * data.c): every entry right, the table and its zero-fill writable, the
 * zero-fill zero, and the library opened and closed at run time too. */
#include <dlfcn.h>
#include <stdio.h>
#include "maps.h"

long data_len(void);
long bss_len(void);
void **data_at(long i);
char *bss_at(long i);
int *counter_at(void);
long data_check(void);
long bss_check(void);
const char *interposed(void) { return "program"; }

int main(void) {
    long n = data_len(), z = bss_len();
    printf("table: %ld entries, %ld wrong; zero-fill: %ld bytes, %ld not zero\n", n, data_check(), z, bss_check());
    printf("interposed: %s\n", ((const char *(*)(void))*data_at(3))());
    printf("table %s %s %s, zero-fill %s %s, counter %s\n", prot(data_at(0)), prot(data_at(n / 2)),
           prot(data_at(n - 1)), prot(bss_at(0)), prot(bss_at(z - 1)), prot(counter_at()));
    *data_at(n - 1) = 0;
    *bss_at(z - 1) = 1;
    printf("after writes: %ld wrong, %ld not zero, counter %d\n", data_check(), bss_check(), ++*counter_at());
    for (int round = 1; round <= 2; round++) {
        void *h = dlopen("libdata2.so", RTLD_NOW);
        if (!h) {
            printf("dlopen: %s\n", dlerror());
            return 1;
        }
        long (*check)(void) = (long (*)(void))dlsym(h, "data_check");
        long (*zero)(void) = (long (*)(void))dlsym(h, "bss_check");
        printf("round %d: table %ld wrong, zero-fill %ld not zero\n", round, check ? check() : -1L,
               zero ? zero() : -1L);
        if (dlclose(h) != 0) {
            printf("dlclose: %s\n", dlerror());
            return 1;
        }
    }
    return 0;
}
