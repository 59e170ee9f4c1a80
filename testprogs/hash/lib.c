/* The hashed library, built with --hash-style=sysv, gnu or both. It defines
 * sym_000..sym_299 (returning 1000 + their number) and some of the colliding
 * names; libother.so defines all colliding names, with other values. */
#include "nolibc.h"
#include "names.h"

#define DEF(n) int sym_##n(void) { return 1000 + name_value(#n); }
EACH_SYM(DEF)

int coll_Az(void) { return 1; }
int coll_BY(void) { return 2; }
int coll_Bj(void) { return 3; }
int coll_CZ(void) { return 4; }
int coll_Ay(void) { return 5; }
/* An import, so that .dynsym starts with undefined symbols. */
extern int other_helper(void);
int hashed_calls_other(void) { return other_helper(); }
