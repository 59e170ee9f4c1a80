/* 300 function names sym_000 .. sym_299, and names whose hashes collide:
 *   GNU hash:  coll_Az = coll_BY = coll_C8 (0xd350e629); coll_Ay differs from
 *              them only in bit 0, which the GNU chain ignores.
 *   SysV hash: coll_Az = coll_Bj = coll_CZ = coll_DJ (0x0a6323ea). */
#define D10(M, p) M(p##0) M(p##1) M(p##2) M(p##3) M(p##4) M(p##5) M(p##6) M(p##7) M(p##8) M(p##9)
#define D100(M, p) D10(M, p##0) D10(M, p##1) D10(M, p##2) D10(M, p##3) D10(M, p##4) \
    D10(M, p##5) D10(M, p##6) D10(M, p##7) D10(M, p##8) D10(M, p##9)
#define EACH_SYM(M) D100(M, 0) D100(M, 1) D100(M, 2)
#define NSYM 300

/* "123" -> 123 */
static inline int name_value(const char *s)
{
    int v = 0;
    while (*s)
        v = v * 10 + (*s++ - '0');
    return v;
}
