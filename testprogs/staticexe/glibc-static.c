/* A static glibc program: libc sets itself up (TLS from AT_PHDR, IRELATIVE
 * relocations, stdio, malloc, constructors, atexit) from what the kernel or
 * the loader hands it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static __thread int tls_counter = 5;
static __thread char tls_zero[64];
static int ctor_ran;

__attribute__((constructor)) static void ctor(void) { ctor_ran = 1; }
static void bye(void) { printf("atexit handler ran\n"); }

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    printf("constructor ran: %s\n", ctor_ran ? "yes" : "no");
    const char *foo = getenv("FOO");
    printf("FOO=%s\n", foo ? foo : "(unset)");
    printf("PATH set: %s\n", getenv("PATH") ? "yes" : "no");
    char *small = malloc(24), *big = malloc(1 << 20);
    strcpy(small, "malloc ok");
    memset(big, 'x', 1 << 20);
    printf("%s, big block %s\n", small, big[(1 << 20) - 1] == 'x' ? "ok" : "wrong");
    free(small);
    free(big);
    tls_counter++;
    int zero = 1;
    for (int i = 0; i < 64; i++)
        zero &= tls_zero[i] == 0;
    printf("tls_counter=%d tls_zero %s\n", tls_counter, zero ? "ok" : "wrong");
    errno = 0;
    FILE *f = fopen("/nonexistent/file", "r");
    printf("fopen failed: %s, errno=%s\n", f ? "no" : "yes", strerror(errno));
    atexit(bye);
    fprintf(stderr, "to stderr\n");
    return 3;
}
