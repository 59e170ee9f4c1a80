/* Looks up 300 names in the hashed library at start-up (a table of pointers)
 * and colliding names lazily through the PLT; names that the hashed library
 * lacks must be found in libother.so. */
#define NOLIBC_MAIN
#include "nolibc.h"
#include "names.h"

#define DECL(n) int sym_##n(void);
EACH_SYM(DECL)
#define ENTRY(n) sym_##n,
static int (*const table[NSYM])(void) = {EACH_SYM(ENTRY)};
int coll_Az(void), coll_BY(void), coll_C8(void), coll_Bj(void), coll_CZ(void);
int coll_DJ(void), coll_Ay(void), hashed_calls_other(void);

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    int wrong = 0;
    for (int i = 0; i < NSYM; i++)
        wrong += table[i]() != 1000 + i;
    put_kv("sym_000..sym_299 wrong", wrong);
    put_kv("coll_Az", coll_Az());
    put_kv("coll_BY", coll_BY());
    put_kv("coll_C8 (libother)", coll_C8());
    put_kv("coll_Bj", coll_Bj());
    put_kv("coll_CZ", coll_CZ());
    put_kv("coll_DJ (libother)", coll_DJ());
    put_kv("coll_Ay", coll_Ay());
    put_kv("other_helper via the hashed library", hashed_calls_other());
    return wrong != 0;
}
