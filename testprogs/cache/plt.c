/* Calls through this program's lazily bound PLT, in a closure that the
 * resolution cache keeps (libuse.so's 2500 references make it worth
 * caching). With the cache, shimld binds at start-up the PLT entries whose
 * binding it knows; the first call of any other still goes through lazy
 * binding, as natively:
 * - strlen, an IFUNC in libc (its resolver runs at the first call);
 * - maybe, a weak function no library defines;
 * - absent, a function only the link-time libcache.so defines: never
 *   called without an argument, and with one the call fails with
 *   "symbol lookup error", status 127, after the first lines. */
#include <stdio.h>
#include <string.h>

void use_print(void);
int value(void);
int absent(void);
int maybe(void) __attribute__((weak));

int main(int argc, char **argv) {
    use_print();
    printf("value %d\n", value());
    printf("strlen %zu\n", strlen(argv[0]));
    printf("maybe %s\n", maybe ? "defined" : "undefined");
    if (maybe)
        printf("maybe %d\n", maybe());
    fflush(stdout);
    if (argc > 1)
        printf("absent %d\n", absent());
    return 0;
}
