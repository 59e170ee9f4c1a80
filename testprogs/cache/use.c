/* A library that refers to libcache.so through data relocations
 * (R_X86_64_64 and GLOB_DAT, bound at start-up and so kept in the
 * resolution cache), not only through the lazily bound PLT. */
#include <stdio.h>

extern int data;
int value(void);
int twice(void);

int (*table[])(void) = {value, twice};

/* A data reference with an addend (R_X86_64_64 row+8): the cached binding
 * is the symbol's, the addend the relocation's. */
extern int row[4];
int *third = &row[2];

#define F(i) int f##i(void);
#include "many.h"
#undef F
#define F(i) f##i,
int (*many[])(void) = {
#include "many.h"
};
#undef F

/* glibc's error() calls the program-name printer through libc's GOT: this
 * definition interposes libc's (a null pointer), so the glibc core must
 * bind to it (the handover's scan for interposers, which the resolution
 * cache keeps too). */
static void print_name(void) { printf("libuse names the program\n"); }
void (*error_print_progname)(void) = print_name;

void use_print(void) {
    long sum = 0;
    for (unsigned i = 0; i < sizeof many / sizeof many[0]; i++)
        sum += many[i]();
    printf("value %d twice %d data %d sum %ld third %d\n", table[0](), table[1](), data, sum, *third);
}
