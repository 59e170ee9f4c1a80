#include <stdio.h>
#include "table.h"

static const char here_a[] = "a";
static int here_b(void) { return 2; }
/* Defined here and in the program: the program's definition wins. */
const char *interposed(void) { return "library"; }

const void *const lib_table[TABLE_LEN] = {
    T128K((const void *)here_a, (const void *)here_b, (const void *)puts, (const void *)interposed)};

/* How many entries differ from the targets as this object's code sees them. */
long lib_check(void) {
    const void *want[4] = {here_a, (const void *)here_b, (const void *)puts, (const void *)interposed};
    long bad = 0;
    for (long i = 0; i < TABLE_LEN; i++)
        bad += lib_table[i] != want[i % 4];
    return bad;
}
