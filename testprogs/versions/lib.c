/* libver.so in several builds (see the Makefile):
 *   V1=1 (v1/, link-time): foo@@V1 bar@@V1
 *   default (run-time):    foo@V1 (hidden) foo@@V2 bar@@V1 baz@@V2 qux@V1 qux@@V2
 *   V3=1 (v3/, link-time): also foo@@V3
 *   NOVER=1 (nov/):        the same names without any version information. */
#include "nolibc.h"

#if defined(V1) || defined(NOVER)
int foo(void) { return 1; }
#endif
#if defined(NOVER)
int baz(void) { return 30; }
int qux(void) { return 40; }
#endif
#if !defined(V1) && !defined(NOVER)
int foo_v1(void) { return 1; }
int foo_v2(void) { return 2; }
__asm__(".symver foo_v1, foo@V1");
#ifdef V3
int foo_v3(void) { return 3; }
__asm__(".symver foo_v2, foo@V2");
__asm__(".symver foo_v3, foo@@V3");
#else
__asm__(".symver foo_v2, foo@@V2");
#endif
int baz(void) { return 30; }
int qux_v1(void) { return 41; }
int qux_v2(void) { return 42; }
__asm__(".symver qux_v1, qux@V1");
__asm__(".symver qux_v2, qux@@V2");
#endif
int bar(void) { return 10; }
