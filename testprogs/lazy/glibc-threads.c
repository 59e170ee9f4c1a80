/* threads.c's first calls through lazily bound PLT entries, in a glibc
 * program: liblazyregs.so is no part of the glibc core, so shimld binds it
 * lazily with its own trampoline after the handover, whose vector save is
 * then set up from glibc's CPU features and the kernel's AT_MINSIGSTKSZ
 * rather than probed. Five pthreads make the first calls at the same time. */
#include <pthread.h>
#include <stdio.h>
#include "work.h"

static void *run(void *arg)
{
    return (void *)(long)worker(arg);
}

int main(void)
{
    pthread_t th[NTHREADS];
    detect();
    for (long i = 0; i < NTHREADS; i++) {
        if (pthread_create(&th[i], NULL, run, (void *)i) != 0) {
            puts("FAIL: pthread_create");
            return 2;
        }
    }
    go = 1;
    int failed = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *wrong;
        pthread_join(th[i], &wrong);
        printf("thread %d: wrong results: %ld\n", i, (long)wrong);
        failed |= wrong != NULL;
    }
    printf("main thread: wrong results: %d\n", worker((void *)NTHREADS));
    return failed;
}
