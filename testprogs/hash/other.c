/* libother.so, after the hashed library in the search order: every lookup of
 * one of its names first misses in the hashed library. */
#include "nolibc.h"

int coll_Az(void) { return 101; }
int coll_BY(void) { return 102; }
int coll_C8(void) { return 103; }
int coll_Bj(void) { return 104; }
int coll_CZ(void) { return 105; }
int coll_DJ(void) { return 106; }
int coll_Ay(void) { return 107; }
int other_helper(void) { return 108; }
