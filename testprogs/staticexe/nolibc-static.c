/* A libc-free static executable (non-PIE or static PIE): what the kernel hands
 * it, and, for the static PIE, that its relocations were not applied before
 * _start (the kernel does not) and that it can apply them itself. */
#define NOLIBC_MAIN
#include "nolibc.h"

struct dyn {
    long tag;
    unsigned long val;
};
struct rela {
    unsigned long offset, info;
    long addend;
};
/* Reached PC-relative: before self-relocation the GOT holds link-time values. */
#ifdef STATIC_PIE
extern struct dyn _DYNAMIC[] HIDDEN;
#endif
static unsigned long start_address(void)
{
    unsigned long a;
    __asm__("lea _start(%%rip), %0" : "=r"(a));
    return a;
}

static int target = 7;
static int *volatile pointer = &target; /* RELATIVE in the static PIE */

#ifdef STATIC_PIE
/* What _dl_relocate_static_pie does: apply R_X86_64_RELATIVE at the load base. */
static int self_relocate(void)
{
    unsigned long base = (unsigned long)&__ehdr_start;
    struct rela *rela = 0;
    unsigned long size = 0, n = 0;
    for (struct dyn *d = _DYNAMIC; d->tag; d++) {
        if (d->tag == 7) /* DT_RELA */
            rela = (struct rela *)(base + d->val);
        else if (d->tag == 8) /* DT_RELASZ */
            size = d->val;
    }
    for (unsigned long i = 0; rela && i < size / sizeof *rela; i++) {
        if ((rela[i].info & 0xffffffff) == 8) {
            *(unsigned long *)(base + rela[i].offset) = base + (unsigned long)rela[i].addend;
            n++;
        }
    }
    return (int)n;
}
#endif

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    for (int i = 0; i < argc; i++) {
        put_str("argv["), put_dec(i), put_str("]="), put_line(argv[i]);
    }
    const struct ehdr *eh = &__ehdr_start;
    put_kv("e_type", eh->type);
    put_check("rsp % 16 == 0 at _start", ((unsigned long)nolibc_initial_sp & 15) == 0);
    put_check("rdx is 0 at _start", nolibc_rtld_fini == 0);
    put_check("AT_BASE is 0", nl_getauxval(AT_BASE) == 0);
    put_check("AT_PHDR = program headers", nl_getauxval(AT_PHDR) == (unsigned long)eh + eh->phoff);
    put_check("AT_PHNUM = e_phnum", nl_getauxval(AT_PHNUM) == eh->phnum);
    put_check("AT_ENTRY = &_start", nl_getauxval(AT_ENTRY) == start_address());
    put_check("AT_RANDOM set", nl_getauxval(AT_RANDOM) != 0);
    const char *execfn = (const char *)nl_getauxval(AT_EXECFN);
    put_check("AT_EXECFN = argv[0]", execfn && strcmp(execfn, argv[0]) == 0);
    put_check("no thread pointer", sys_get_fs() == 0);
#ifdef STATIC_PIE
    put_check("loaded away from 0", (unsigned long)eh != 0);
    put_yesno("pointer relocated before _start", pointer == &target);
    put_check("relocations applied by the program", self_relocate() > 0);
    put_yesno("pointer relocated now", pointer == &target);
#else
    put_check("pointer resolved by ld", pointer == &target);
#endif
    put_kv("*pointer", *pointer);
    return nl_failures ? 1 : 0;
}
