/* A library of the graphs in the Makefile; NAME, OBJ_INIT and OBJ_FINI come
 * from there, and DEP names the library's first needed library, if any. Its
 * first INIT_ARRAY constructor calls DEP's inited(): relocations must be done
 * before any constructor runs, and the answer shows the order. */
#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
static int inited;
#define EXTRA_INIT0 report_dep();
#define EXTRA_DTINIT inited = 1;
static void report_dep(void);
#include "obj.h"

int CAT(SYM, _inited)(void) { return inited; }
static void report_dep(void)
{
#ifdef DEP
    int CAT(DEP, _inited)(void);
    put_yesno(NAME ": DT_INIT of its dependency " STR(DEP) " already ran", CAT(DEP, _inited)());
#endif
}
