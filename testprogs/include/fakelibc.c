/* A stand-in libc.so.6 for libc-free test programs that need ld.so itself.
 *
 * glibc's ld.so keeps itself out of the program's lookup scope unless an
 * object names it in DT_NEEDED, and then it insists on a libc.so.6 that
 * defines the eight functions it binds to at start-up. A program that needs
 * ld.so's __tls_get_addr (general- and local-dynamic TLS) or calls the fini
 * function in %rdx links this library and ld.so, so that it runs natively.
 * Under shimld both are ordinary objects of the closure. */
#include "nolibc.h"

static char arena[1 << 20];
static size_t used;

void *malloc(size_t n)
{
    n = (n + 15) & ~15UL;
    if (used + n > sizeof arena)
        return NULL;
    void *p = arena + used;
    used += n;
    return p;
}
void *calloc(size_t a, size_t b) { return malloc(a * b); }
void free(void *p) { (void)p; }
void *realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q && p)
        memcpy(q, p, n);
    return q;
}
int pthread_mutex_lock(void *m)
{
    (void)m;
    return 0;
}
int pthread_mutex_unlock(void *m)
{
    (void)m;
    return 0;
}
void __libc_early_init(_Bool initial) { (void)initial; }
