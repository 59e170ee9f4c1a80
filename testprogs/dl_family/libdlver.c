/* libdlver.so: two versions of vfn (VER_1 and the default VER_2). */
__asm__(".symver vfn_1, vfn@VER_1");
__asm__(".symver vfn_2, vfn@@VER_2");
int vfn_1(void) { return 1; }
int vfn_2(void) { return 2; }
int only_v1(void) { return 11; }
