/* Process start as the program sees it: argc/argv/envp, the auxiliary vector,
 * the stack and registers at _start, and the thread control block that a
 * dynamic loader sets up (built with -fstack-protector-all). */
#define NOLIBC_MAIN
#include "nolibc.h"

void _start(void);

/* Called by -fstack-protector-all code on a canary mismatch. */
HIDDEN void __stack_chk_fail(void)
{
    put_line("stack smashing detected");
    sys_exit_group(99);
}

static unsigned long fs_word(unsigned long off)
{
    unsigned long v;
    __asm__ volatile("mov %%fs:(%1), %0" : "=r"(v) : "r"(off));
    return v;
}

int main(int argc, char **argv, char **envp)
{
    put_kv("argc", argc);
    for (int i = 0; i < argc; i++) {
        put_str("argv["), put_dec(i), put_str("]="), put_line(argv[i]);
    }
    put_check("argv[argc] is NULL", argv[argc] == NULL);
    int n = 0;
    for (char **e = envp; *e; e++, n++) {
        put_str("envp["), put_dec(n), put_str("]="), put_line(*e);
    }
    /* The initial stack: argc, argv, NULL, envp, NULL, auxv. */
    unsigned long *sp = nolibc_initial_sp;
    put_check("rsp % 16 == 0 at _start", ((unsigned long)sp & 15) == 0);
    put_check("argc at rsp", (long)sp[0] == argc);
    put_check("argv at rsp+8", (char **)(sp + 1) == argv);
    put_check("envp after argv", envp == argv + argc + 1);
    put_check("auxv after envp", nolibc_auxv == (unsigned long *)(envp + n + 1));
#ifdef DYNAMIC
    put_check("rdx (fini function) is non-NULL", nolibc_rtld_fini != NULL);
    put_check("AT_BASE non-zero (an interpreter ran)", nl_getauxval(AT_BASE) != 0);
#else
    put_check("rdx is NULL", nolibc_rtld_fini == NULL);
    put_check("AT_BASE is 0", nl_getauxval(AT_BASE) == 0);
#endif
    const struct ehdr *eh = &__ehdr_start;
    put_check("AT_PHDR = program headers", nl_getauxval(AT_PHDR) == (unsigned long)eh + eh->phoff);
    put_check("AT_PHNUM = e_phnum", nl_getauxval(AT_PHNUM) == eh->phnum);
    put_kv("AT_PHENT", (long)nl_getauxval(AT_PHENT));
    put_check("AT_ENTRY = &_start", nl_getauxval(AT_ENTRY) == (unsigned long)_start);
    put_check("AT_ENTRY = e_entry + load bias",
              nl_getauxval(AT_ENTRY) == eh->entry + (eh->type == 3 ? (unsigned long)eh : 0));
    put_kv("AT_PAGESZ", (long)nl_getauxval(AT_PAGESZ));
    put_kv("AT_FLAGS", (long)nl_getauxval(AT_FLAGS));
    put_kv("AT_SECURE", (long)nl_getauxval(AT_SECURE));
    put_check("AT_UID = AT_EUID", nl_getauxval(AT_UID) == nl_getauxval(AT_EUID));
    put_check("AT_GID = AT_EGID", nl_getauxval(AT_GID) == nl_getauxval(AT_EGID));
    const char *execfn = (const char *)nl_getauxval(AT_EXECFN);
    put_str("AT_EXECFN="), put_line(execfn ? execfn : "(none)");
    put_check("AT_EXECFN = argv[0]", execfn && strcmp(execfn, argv[0]) == 0);
    const char *platform = (const char *)nl_getauxval(AT_PLATFORM);
    put_check("AT_PLATFORM present", platform != NULL);
    put_check("AT_SYSINFO_EHDR (vDSO) present", nl_getauxval(AT_SYSINFO_EHDR) != 0);
    unsigned long *rnd = (unsigned long *)nl_getauxval(AT_RANDOM);
    put_check("AT_RANDOM non-NULL", rnd != NULL);
#ifdef DYNAMIC
    /* The thread control block (glibc's tcbhead_t) as ld.so sets it up. */
    unsigned long fs = sys_get_fs();
    put_check("thread pointer set", fs != 0);
    put_check("%fs:0 (tcb) points to itself", fs_word(0) == fs);
    put_check("%fs:0x10 (self) points to the tcb", fs_word(0x10) == fs);
    unsigned long guard = fs_word(0x28);
    put_check("stack guard %fs:0x28 non-zero", guard != 0);
    put_check("stack guard low byte zero", (guard & 0xff) == 0);
    put_check("stack guard = AT_RANDOM[0..8] with low byte cleared", rnd && guard == (rnd[0] & ~0xffUL));
    put_check("pointer guard %fs:0x30 = AT_RANDOM[8..16]", rnd && fs_word(0x30) == rnd[1]);
#else
    put_check("no thread pointer", sys_get_fs() == 0);
#endif
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
