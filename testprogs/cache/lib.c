/* One library, built in variants that a stale resolution cache would bind
 * wrongly: VALUE changes what the functions return, and EXTRA adds symbols
 * that move every other one to a new symbol index. */
#ifdef EXTRA
int extra_a(void) { return -1; }
int extra_b(void) { return -2; }
int extra_c(void) { return -3; }
int extra_data[4] = {1, 2, 3, 4};
#endif

int data = VALUE * 10;
int row[4] = {VALUE, VALUE + 1, VALUE + 2, VALUE + 3};

int value(void) { return VALUE; }

/* Enough functions that the users' references are worth caching (shimld
 * skips the cache for closures that relocate faster than it reads one). */
#define F(i) int f##i(void) { return i * VALUE; }
#include "many.h"
#undef F
int twice(void) { return 2 * VALUE; }

#ifdef ABSENT
/* Only in the library cache-plt links against (see plt.c). */
int absent(void) { return 42; }
#endif
