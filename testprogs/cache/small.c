/* A program with one small library: a closure of a few relocations, which
 * shimld relocates without the resolution cache. */
#include <stdio.h>

#ifdef LIB
int small(int x) { return x + 1; }
#else
int small(int);

int main(void) {
    printf("small %d\n", small(1));
    return 0;
}
#endif
