/* A library that refers to libcache.so through data relocations
 * (R_X86_64_64 and GLOB_DAT, bound at start-up and so kept in the
 * resolution cache), not only through the lazily bound PLT. */
#include <stdio.h>

extern int data;
int value(void);
int twice(void);

int (*table[])(void) = {value, twice};

void use_print(void) {
    printf("value %d twice %d data %d\n", table[0](), table[1](), data);
}
