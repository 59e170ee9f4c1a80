/* __thread in the executable and in three libraries (general-dynamic,
 * initial-exec, TLSDESC), reached directly (extern __thread) and through the
 * libraries' accessors, from 16 threads running 1000 iterations each at once.
 * Every thread checks that it starts from the initial image, that its copies
 * are its own (counts only its own increments), and that both ways of reaching
 * a variable give the same address. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NTHREADS 16
#define ITERS 1000

__thread int exe_init = 7;
__thread long long exe_zero[16];
__thread int exe_al __attribute__((aligned(128))) = 9;
__thread int exe_shared = 100; /* the libraries reach it through dynamic relocations */
static __thread int exe_static;

#define DECLARE(p)                                                                  \
    extern __thread int p##_init;                                                   \
    extern __thread long p##_zero;                                                  \
    extern __thread double p##_al;                                                  \
    int *p##_init_addr(void);                                                       \
    long *p##_zero_addr(void);                                                      \
    double *p##_al_addr(void);                                                      \
    int *p##_exe_shared_addr(void);                                                 \
    int p##_local_get(void);                                                        \
    int p##_key_dtor_calls(void);                                                   \
    int p##_fresh(void);                                                            \
    void p##_bump(void);
DECLARE(gd)
DECLARE(ie)
DECLARE(desc)

struct result {
    int fresh_exe, fresh_gd, fresh_ie, fresh_desc;
    int same_addr;
    int final_ok;
    uintptr_t addr_exe, addr_gd, addr_ie, addr_desc;
};
static struct result results[NTHREADS];
static pthread_barrier_t start, finish;

static int fresh_exe(void)
{
    int nz = 0;
    for (int i = 0; i < 16; i++)
        nz += exe_zero[i] != 0;
    return exe_init == 7 && exe_al == 9 && exe_shared == 100 && exe_static == 0 && nz == 0 &&
           ((uintptr_t)&exe_al & 127) == 0;
}

static int same_addresses(void)
{
    return &gd_init == gd_init_addr() && &gd_zero == gd_zero_addr() && &gd_al == gd_al_addr() &&
           &ie_init == ie_init_addr() && &ie_zero == ie_zero_addr() && &ie_al == ie_al_addr() &&
           &desc_init == desc_init_addr() && &desc_zero == desc_zero_addr() && &desc_al == desc_al_addr() &&
           gd_exe_shared_addr() == &exe_shared && ie_exe_shared_addr() == &exe_shared &&
           desc_exe_shared_addr() == &exe_shared;
}

static void *worker(void *arg)
{
    struct result *r = arg;
    r->fresh_exe = fresh_exe();
    r->fresh_gd = gd_fresh();
    r->fresh_ie = ie_fresh();
    r->fresh_desc = desc_fresh();
    r->same_addr = same_addresses();
    pthread_barrier_wait(&start);
    for (int i = 0; i < ITERS; i++) {
        exe_init++;
        exe_zero[3] += 3;
        exe_al--;
        exe_static++;
        gd_init++;   /* directly, then once more through the library */
        ie_init++;
        desc_init++;
        gd_bump();
        ie_bump();
        desc_bump();
        if ((i & 127) == 0)
            sched_yield();
    }
    r->final_ok = exe_init == 7 + ITERS && exe_zero[3] == 3 * ITERS && exe_al == 9 - ITERS &&
                  exe_static == ITERS && exe_shared == 100 + 3 * ITERS &&
                  gd_init == 42 + 2 * ITERS && ie_init == 43 + 2 * ITERS && desc_init == 44 + 2 * ITERS &&
                  gd_zero == 2 * ITERS && ie_zero == 2 * ITERS && desc_zero == 2 * ITERS &&
                  gd_al == 2.5 + ITERS && ie_al == 2.5 + ITERS && desc_al == 2.5 + ITERS &&
                  gd_local_get() == 5 + ITERS && ie_local_get() == 5 + ITERS && desc_local_get() == 5 + ITERS;
    r->addr_exe = (uintptr_t)&exe_init;
    r->addr_gd = (uintptr_t)&gd_init;
    r->addr_ie = (uintptr_t)&ie_init;
    r->addr_desc = (uintptr_t)&desc_init;
    pthread_barrier_wait(&finish); /* every thread is alive while addresses are compared */
    return NULL;
}

static void yesno(const char *what, int ok) { printf("%s: %s\n", what, ok ? "yes" : "no"); }

int main(void)
{
    yesno("main thread: executable TLS initial", fresh_exe());
    yesno("main thread: gd library TLS initial", gd_fresh());
    yesno("main thread: ie library TLS initial", ie_fresh());
    yesno("main thread: desc library TLS initial", desc_fresh());
    yesno("main thread: same address through extern and accessor", same_addresses());
    printf("gd_init=%d ie_init=%d desc_init=%d exe_init=%d exe_al=%d\n", gd_init, ie_init, desc_init, exe_init,
           exe_al);

    pthread_t t[NTHREADS];
    pthread_barrier_init(&start, NULL, NTHREADS);
    pthread_barrier_init(&finish, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, &results[i]) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);

    int fe = 0, fg = 0, fi = 0, fd = 0, sa = 0, ok = 0, distinct = 1;
    for (int i = 0; i < NTHREADS; i++) {
        struct result *r = &results[i];
        fe += r->fresh_exe, fg += r->fresh_gd, fi += r->fresh_ie, fd += r->fresh_desc;
        sa += r->same_addr, ok += r->final_ok;
        for (int j = 0; j < i; j++)
            if (r->addr_exe == results[j].addr_exe || r->addr_gd == results[j].addr_gd ||
                r->addr_ie == results[j].addr_ie || r->addr_desc == results[j].addr_desc)
                distinct = 0;
        if (r->addr_exe == (uintptr_t)&exe_init || r->addr_gd == (uintptr_t)&gd_init)
            distinct = 0;
    }
    printf("threads starting from the initial image: exe %d, gd %d, ie %d, desc %d of %d\n", fe, fg, fi, fd,
           NTHREADS);
    printf("threads seeing one address per variable: %d of %d\n", sa, NTHREADS);
    printf("threads counting only their own increments: %d of %d\n", ok, NTHREADS);
    yesno("every thread has its own copies", distinct);
    printf("pthread key destructor calls: gd %d, ie %d, desc %d\n", gd_key_dtor_calls(), ie_key_dtor_calls(),
           desc_key_dtor_calls());
    yesno("main thread unchanged", fresh_exe() && gd_fresh() && ie_fresh() && desc_fresh());
    return 0;
}
