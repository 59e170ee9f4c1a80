/* A RELRO table of 2^19 pointers (4 MiB), a repeating pattern of four
 * targets: two in the object itself (RELATIVE relocations), one in libc
 * and one that the program interposes (symbolic relocations). */
#define T1(a, b, c, d) a, b, c, d,
#define T2(a, b, c, d) T1(a, b, c, d) T1(a, b, c, d)
#define T4(a, b, c, d) T2(a, b, c, d) T2(a, b, c, d)
#define T16(a, b, c, d) T4(a, b, c, d) T4(a, b, c, d) T4(a, b, c, d) T4(a, b, c, d)
#define T64(a, b, c, d) T16(a, b, c, d) T16(a, b, c, d) T16(a, b, c, d) T16(a, b, c, d)
#define T256(a, b, c, d) T64(a, b, c, d) T64(a, b, c, d) T64(a, b, c, d) T64(a, b, c, d)
#define T1K(a, b, c, d) T256(a, b, c, d) T256(a, b, c, d) T256(a, b, c, d) T256(a, b, c, d)
#define T4K(a, b, c, d) T1K(a, b, c, d) T1K(a, b, c, d) T1K(a, b, c, d) T1K(a, b, c, d)
#define T16K(a, b, c, d) T4K(a, b, c, d) T4K(a, b, c, d) T4K(a, b, c, d) T4K(a, b, c, d)
#define T64K(a, b, c, d) T16K(a, b, c, d) T16K(a, b, c, d) T16K(a, b, c, d) T16K(a, b, c, d)
#define T128K(a, b, c, d) T64K(a, b, c, d) T64K(a, b, c, d)
#define TABLE_LEN (4 * 128 * 1024)
