/* Large RELRO ranges (a 4 MiB table of pointers in the program and in a
 * library): every entry relocated, the range read-only once the program
 * runs, and the data after it writable. */
#include <stdio.h>
#include <string.h>
#include "table.h"
#include "maps.h"

extern const void *const lib_table[TABLE_LEN];
long lib_check(void);
const char *interposed(void) { return "program"; }

static const char mine[] = "mine";
int main(void);
const void *const main_table[TABLE_LEN] = {
    T128K((const void *)mine, (const void *)main, (const void *)strlen, (const void *)lib_check)};
int counter = 41;

int main(void) {
    const void *want[4] = {mine, (const void *)main, (const void *)strlen, (const void *)lib_check};
    long bad = 0;
    for (long i = 0; i < TABLE_LEN; i++)
        bad += main_table[i] != want[i % 4];
    printf("program table: %d entries, %ld wrong\n", TABLE_LEN, bad);
    printf("library table: %d entries, %ld wrong\n", TABLE_LEN, lib_check());
    printf("interposed: %s\n", ((const char *(*)(void))lib_table[3])());
    printf("program table %s %s %s, library table %s %s %s, data %s\n", prot(main_table),
           prot(&main_table[TABLE_LEN / 2]), prot(&main_table[TABLE_LEN - 1]), prot(lib_table),
           prot(&lib_table[TABLE_LEN / 2]), prot(&lib_table[TABLE_LEN - 1]), prot(&counter));
    printf("counter %d\n", ++counter);
    return 0;
}
