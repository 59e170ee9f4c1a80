/* TLS of dlopened libraries (general-dynamic, TLSDESC, initial-exec) from
 * threads created before the dlopen and after it, all running at once;
 * then a dlclose and a fresh dlopen, whose TLS starts from the initial
 * image again. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NLIBS 3
#define EARLY 4
#define LATE 4
#define ITERS 1000

static const char *names[NLIBS] = { "libdltlsgd.so", "libdltlsdesc.so", "libdltlsie.so" };
struct lib {
    void *h;
    int (*fresh)(void);
    void (*bump)(void);
    int (*check)(int);
    void *(*addr)(void);
};
static struct lib libs[NLIBS];
static pthread_barrier_t opened, done;

struct result {
    int fresh[NLIBS], ok[NLIBS];
    void *addr[NLIBS];
};
static struct result results[EARLY + LATE];

static int open_libs(void)
{
    for (int i = 0; i < NLIBS; i++) {
        struct lib *l = &libs[i];
        l->h = dlopen(names[i], RTLD_NOW);
        if (!l->h) {
            const char *e = dlerror(), *s = e ? strrchr(e, '/') : NULL;
            printf("dlopen(%s) failed: %s\n", names[i], s ? s + 1 : e);
            return 0;
        }
        l->fresh = (int (*)(void))dlsym(l->h, "tls_fresh");
        l->bump = (void (*)(void))dlsym(l->h, "tls_bump");
        l->check = (int (*)(int))dlsym(l->h, "tls_check");
        l->addr = (void *(*)(void))dlsym(l->h, "tls_addr");
        if (!l->fresh || !l->bump || !l->check || !l->addr) {
            printf("dlsym in %s failed\n", names[i]);
            return 0;
        }
    }
    return 1;
}

static void *worker(void *arg)
{
    struct result *r = arg;
    if (r < results + EARLY)
        pthread_barrier_wait(&opened); /* created before the dlopen */
    for (int i = 0; i < NLIBS; i++)
        r->fresh[i] = libs[i].fresh();
    for (int n = 0; n < ITERS; n++)
        for (int i = 0; i < NLIBS; i++)
            libs[i].bump();
    for (int i = 0; i < NLIBS; i++) {
        r->ok[i] = libs[i].check(ITERS);
        r->addr[i] = libs[i].addr();
    }
    pthread_barrier_wait(&done);
    return NULL;
}

static void *fresh_thread(void *arg)
{
    int *out = arg;
    for (int i = 0; i < NLIBS; i++)
        out[i] = libs[i].fresh();
    return NULL;
}

int main(void)
{
    pthread_t t[EARLY + LATE];
    pthread_barrier_init(&opened, NULL, EARLY + 1);
    pthread_barrier_init(&done, NULL, EARLY + LATE);
    for (int i = 0; i < EARLY; i++)
        pthread_create(&t[i], NULL, worker, &results[i]);
    if (!open_libs())
        return 1;
    printf("main thread starts fresh:");
    for (int i = 0; i < NLIBS; i++)
        printf(" %s", libs[i].fresh() ? "yes" : "no");
    printf("\n");
    for (int i = 0; i < NLIBS; i++)
        libs[i].bump();
    pthread_barrier_wait(&opened);
    for (int i = EARLY; i < EARLY + LATE; i++)
        pthread_create(&t[i], NULL, worker, &results[i]);
    for (int i = 0; i < EARLY + LATE; i++)
        pthread_join(t[i], NULL);

    for (int l = 0; l < NLIBS; l++) {
        int fe = 0, fl = 0, ok = 0, distinct = 1;
        for (int i = 0; i < EARLY + LATE; i++) {
            *(i < EARLY ? &fe : &fl) += results[i].fresh[l];
            ok += results[i].ok[l];
            for (int j = 0; j < i; j++)
                distinct &= results[i].addr[l] != results[j].addr[l];
            distinct &= results[i].addr[l] != libs[l].addr();
        }
        printf("%s: fresh in %d/%d early and %d/%d late threads, own counts in %d/%d, distinct copies: %s, "
               "main thread's count kept: %s\n",
               names[l], fe, EARLY, fl, LATE, ok, EARLY + LATE, distinct ? "yes" : "no",
               libs[l].check(1) ? "yes" : "no");
    }

    /* Unload and load again: a new thread and the main thread see fresh TLS. */
    for (int i = 0; i < NLIBS; i++)
        dlclose(libs[i].h);
    if (!open_libs())
        return 1;
    int fresh[NLIBS];
    pthread_t f;
    pthread_create(&f, NULL, fresh_thread, fresh);
    pthread_join(f, NULL);
    printf("after reloading, a new thread starts fresh:");
    for (int i = 0; i < NLIBS; i++)
        printf(" %s", fresh[i] ? "yes" : "no");
    printf("\nafter reloading, the main thread starts fresh:");
    for (int i = 0; i < NLIBS; i++)
        printf(" %s", libs[i].fresh() ? "yes" : "no");
    printf("\n");
    return 0;
}
