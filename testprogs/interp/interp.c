/* Started by the kernel through PT_INTERP: the copy named *-via-shimld has
 * shimld as its interpreter, the other glibc's ld.so. The two print the same
 * (argv[0] and AT_EXECFN, which differ by name, are only compared). With LIB
 * it also uses libinterp.so; with TLS, thread-local variables. */
#define NOLIBC_MAIN
#include "nolibc.h"

void _start(void);

#ifdef LIB
int lib_fn(int);
extern int lib_data;
#endif
#ifdef TLS
__thread int exe_tls = 5;
__thread char exe_tbss[256];
extern __thread int lib_tls;
int *lib_tls_addr(void);
#endif

int main(int argc, char **argv, char **envp)
{
    for (int i = 1; i < argc; i++) {
        put_str("argv["), put_dec(i), put_str("]="), put_line(argv[i]);
    }
    int n = 0;
    while (envp[n])
        n++;
    put_kv("environment variables", n);
    const struct ehdr *eh = &__ehdr_start;
    put_check("AT_BASE non-zero (an interpreter ran)", nl_getauxval(AT_BASE) != 0);
    put_check("rdx (fini function) non-NULL", nolibc_rtld_fini != NULL);
    put_check("AT_PHDR = program headers", nl_getauxval(AT_PHDR) == (unsigned long)eh + eh->phoff);
    put_check("AT_ENTRY = &_start", nl_getauxval(AT_ENTRY) == (unsigned long)_start);
    const char *execfn = (const char *)nl_getauxval(AT_EXECFN);
    put_check("AT_EXECFN = argv[0]", execfn && strcmp(execfn, argv[0]) == 0);
#ifdef LIB
    put_kv("lib_fn(1)", lib_fn(1));
    put_kv("lib_data", lib_data);
#endif
#ifdef TLS
    unsigned long tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    put_check("%fs:0 points to itself", tp == sys_get_fs() && tp != 0);
    put_kv("exe_tls", exe_tls);
    put_kv("lib_tls", lib_tls);
    put_check("&lib_tls: executable = library", &lib_tls == lib_tls_addr());
    int nz = 0;
    for (int i = 0; i < 256; i++)
        nz += exe_tbss[i] != 0;
    put_kv("nonzero .tbss bytes", nz);
#endif
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
