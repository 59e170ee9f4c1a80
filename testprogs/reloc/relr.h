/* A table of RELATIVE relocations for DT_RELR: long runs of pointers (more
 * than one bitmap word's worth) broken by NULL holes, and one unaligned
 * pointer that must stay in .rela.dyn. Included by one file per object; the
 * objects are hidden, not static, so the compiler cannot fold the loads. */
#define RELR_N 150
HIDDEN int relr_target[RELR_N];
#define RELR_WANT(i) ((i) % 67 == 3 || (i) % 67 == 5 ? (void *)0 : (void *)&relr_target[i])
#define RELR_E1(i) RELR_WANT(i),
#define RELR_E10(i) RELR_E1(i) RELR_E1(i + 1) RELR_E1(i + 2) RELR_E1(i + 3) RELR_E1(i + 4) \
    RELR_E1(i + 5) RELR_E1(i + 6) RELR_E1(i + 7) RELR_E1(i + 8) RELR_E1(i + 9)
#define RELR_E50(i) RELR_E10(i) RELR_E10(i + 10) RELR_E10(i + 20) RELR_E10(i + 30) RELR_E10(i + 40)
HIDDEN void *relr_table[RELR_N] = {RELR_E50(0) RELR_E50(50) RELR_E50(100)};
HIDDEN struct __attribute__((packed)) {
    char pad;
    void *ptr;
} relr_unaligned = {1, &relr_target[7]};

/* The number of table entries that are wrong. */
static int relr_bad(void)
{
    int bad = 0;
    for (int i = 0; i < RELR_N; i++)
        bad += relr_table[i] != RELR_WANT(i);
    bad += relr_unaligned.ptr != &relr_target[7];
    return bad;
}
