/* Five threads (raw clone, no TLS) make the first calls to liblazyregs.so's
 * functions at the same time, through lazily bound PLT entries. A trampoline
 * that loses an argument register (integer, xmm, ymm, zmm or %al for varargs)
 * or a callee-saved register shows up as a wrong result. The ymm and zmm
 * functions run only where the CPU and kernel support AVX2 / AVX-512F; the
 * output is the same either way. */
#define NOLIBC_MAIN
#include "nolibc.h"

#include "work.h"

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    struct nl_thread th[NTHREADS];
    detect();
    for (long i = 0; i < NTHREADS; i++) {
        if (nl_thread_start(&th[i], worker, (void *)i, 256 * 1024) < 0) {
            put_line("FAIL: clone");
            return 2;
        }
    }
    go = 1;
    int failed = 0;
    for (int i = 0; i < NTHREADS; i++) {
        int wrong = nl_thread_join(&th[i]);
        put_str("thread "), put_dec(i), put_str(": wrong results: "), put_dec(wrong), put_str("\n");
        failed |= wrong != 0;
    }
    /* And once more on the main thread, every entry now bound. */
    put_kv("main thread: wrong results", worker((void *)NTHREADS));
    return failed;
}
