/* A glibc program that needs only libc and imports nothing shimld
 * replaces: started through PT_INTERP, shimld hands it to glibc's ld.so
 * whole. It prints its names without the "-via-shimld" suffix, and whether
 * the auxiliary vector describes it. */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

extern void _start(void);
extern const Elf64_Ehdr __ehdr_start;
static __thread int tls_value = 41;

static void print_name(const char *what, const char *s) {
    size_t n = strlen(s), k = strlen("-via-shimld");
    if (n >= k && !strcmp(s + n - k, "-via-shimld")) n -= k;
    printf("%s %.*s\n", what, (int)n, s);
}

__attribute__((constructor)) static void early(void) { tls_value++; }

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) print_name("arg", argv[i]);
    print_name("AT_EXECFN", (const char *)getauxval(AT_EXECFN));
    printf("AT_ENTRY is _start: %s\n", getauxval(AT_ENTRY) == (unsigned long)&_start ? "yes" : "no");
    printf("AT_PHDR is the program's: %s\n",
           getauxval(AT_PHDR) == (unsigned long)&__ehdr_start + __ehdr_start.e_phoff ? "yes" : "no");
    printf("TLS %d\n", tls_value);
    return 0;
}
