/* One library source built three times with a different TLS access model:
 * PFX=gd (general-dynamic, the default for -fPIC), PFX=ie (initial-exec),
 * PFX=desc (TLSDESC, -mtls-dialect=gnu2). Each defines initialised, zero and
 * over-aligned thread-locals and a static one (local-dynamic in the gd
 * build), and reaches the executable's exe_shared through its model. */
#include <pthread.h>
#include <stdint.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define V(n) CAT(PFX, n)

__thread int V(init) = INITVAL;
__thread long V(zero);
__thread double V(al) __attribute__((aligned(64))) = 2.5;
__thread char V(buf)[300];
static __thread int V(local) = 5;
extern __thread int exe_shared;

/* Counts thread exits through a pthread key destructor. */
static pthread_key_t key;
static int key_dtor_calls;
static void key_dtor(void *p) { (void)p; __atomic_add_fetch(&key_dtor_calls, 1, __ATOMIC_SEQ_CST); }
__attribute__((constructor)) static void make_key(void) { pthread_key_create(&key, key_dtor); }

int *V(init_addr)(void) { return &V(init); }
long *V(zero_addr)(void) { return &V(zero); }
double *V(al_addr)(void) { return &V(al); }
int *V(exe_shared_addr)(void) { return &exe_shared; }
int V(local_get)(void) { return V(local); }
int V(key_dtor_calls)(void) { return __atomic_load_n(&key_dtor_calls, __ATOMIC_SEQ_CST); }

/* Whether this thread's copy of the library's TLS is in its initial state. */
int V(fresh)(void)
{
    int nz = 0;
    for (int i = 0; i < 300; i++)
        nz += V(buf)[i] != 0;
    return V(init) == INITVAL && V(zero) == 0 && V(al) == 2.5 && V(local) == 5 && nz == 0 &&
           ((uintptr_t)&V(al) & 63) == 0;
}

void V(bump)(void)
{
    V(init)++;
    V(zero) += 2;
    V(al) += 1.0;
    V(buf)[299]++;
    V(local)++;
    exe_shared++;
    pthread_setspecific(key, (void *)1);
}
