/* A library whose writable segment is large and full of relocated
 * pointers (as CPython's type objects make libpython's): 1.25 MiB of
 * writable table, then 256 KiB of zero-fill. shimld reads such a segment
 * into a huge page; the table must hold the right pointers, stay
 * writable, and the zero-fill must be zero. */
#include <stdio.h>
#include "table.h"

#define DATA_LEN (4 * 40 * 1024)
#define BSS_LEN (256 * 1024)

static const char here_a[] = "a";
static int here_b(void) { return 2; }
const char *interposed(void) { return "library"; }

static void *lib_data[DATA_LEN] = {T16K((void *)here_a, (void *)here_b, (void *)puts, (void *)interposed)
                                T16K((void *)here_a, (void *)here_b, (void *)puts, (void *)interposed)
                                    T4K((void *)here_a, (void *)here_b, (void *)puts, (void *)interposed)
                                        T4K((void *)here_a, (void *)here_b, (void *)puts, (void *)interposed)};
static char lib_bss[BSS_LEN];
static int lib_counter = 7;

long data_len(void) { return DATA_LEN; }
long bss_len(void) { return BSS_LEN; }
void **data_at(long i) { return &lib_data[i]; }
char *bss_at(long i) { return &lib_bss[i]; }
int *counter_at(void) { return &lib_counter; }

/* How many entries differ from the targets as this object's code sees them. */
long data_check(void) {
    void *want[4] = {(void *)here_a, (void *)here_b, (void *)puts, (void *)interposed};
    long bad = 0;
    for (long i = 0; i < DATA_LEN; i++)
        bad += lib_data[i] != want[i % 4];
    return bad;
}

/* How many bytes of the zero-fill are not zero. */
long bss_check(void) {
    long bad = 0;
    for (long i = 0; i < BSS_LEN; i++)
        bad += lib_bss[i] != 0;
    return bad;
}
