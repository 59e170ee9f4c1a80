/* A minimal libc-free runtime for shimld's test programs.
 *
 * Raw x86-64 Linux system calls, a few string and output helpers, and (in the
 * translation unit that defines NOLIBC_MAIN) the program's _start.
 *
 * Everything here has hidden visibility, so every object gets its own copy
 * and nothing is interposed between test objects by accident. */
#ifndef NOLIBC_H
#define NOLIBC_H

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long uintptr_t;
typedef unsigned long uint64_t;
typedef long int64_t;
typedef unsigned int uint32_t;
typedef int int32_t;
typedef unsigned short uint16_t;
typedef unsigned char uint8_t;

#define NULL ((void *)0)
#define HIDDEN __attribute__((visibility("hidden")))
#define NL_WEAK_HIDDEN __attribute__((weak, visibility("hidden")))

/* Auxiliary vector types. */
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31
#define AT_SYSINFO_EHDR 33

/* The ELF header, and this object's own (the linker's __ehdr_start). */
struct ehdr {
    unsigned char ident[16];
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff, shoff;
    uint32_t flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
extern const struct ehdr __ehdr_start HIDDEN;

#define SYS_read 0
#define SYS_write 1
#define SYS_open 2
#define SYS_close 3
#define SYS_mmap 9
#define SYS_munmap 11
#define SYS_rt_sigaction 13
#define SYS_getpid 39
#define SYS_clone 56
#define SYS_exit 60
#define SYS_readlink 89
#define SYS_arch_prctl 158
#define SYS_gettid 186
#define SYS_futex 202
#define SYS_exit_group 231

#define ARCH_GET_FS 0x1003
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 0x02
#define MAP_ANONYMOUS 0x20
#define O_RDONLY 0

static inline long nl_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define nl_syscall3(n, a, b, c) nl_syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)

static inline ssize_t sys_write(int fd, const void *buf, size_t len)
{
    return nl_syscall3(SYS_write, fd, buf, len);
}
static inline ssize_t sys_read(int fd, void *buf, size_t len)
{
    return nl_syscall3(SYS_read, fd, buf, len);
}
static inline int sys_open(const char *path, int flags)
{
    return (int)nl_syscall3(SYS_open, path, flags, 0);
}
static inline int sys_close(int fd) { return (int)nl_syscall3(SYS_close, fd, 0, 0); }
static inline long sys_getpid(void) { return nl_syscall3(SYS_getpid, 0, 0, 0); }
static inline ssize_t sys_readlink(const char *path, char *buf, size_t len)
{
    return nl_syscall3(SYS_readlink, path, buf, len);
}
static inline void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
    return (void *)nl_syscall6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
}
static inline int sys_munmap(void *addr, size_t len)
{
    return (int)nl_syscall3(SYS_munmap, addr, len, 0);
}
static inline long sys_gettid(void) { return nl_syscall3(SYS_gettid, 0, 0, 0); }
/* The thread pointer as the kernel holds it (the %fs base). */
static inline unsigned long sys_get_fs(void)
{
    unsigned long fs = 0;
    nl_syscall3(SYS_arch_prctl, ARCH_GET_FS, &fs, 0);
    return fs;
}
__attribute__((noreturn)) static inline void sys_exit_group(int status)
{
    for (;;)
        nl_syscall3(SYS_exit_group, status, 0, 0);
}

/* The compiler may emit calls to these even in freestanding code. */
NL_WEAK_HIDDEN void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    while (n--)
        *dp++ = *sp++;
    return d;
}
NL_WEAK_HIDDEN void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *dp = d;
    const unsigned char *sp = s;
    if (dp < sp) {
        while (n--)
            *dp++ = *sp++;
    } else {
        while (n--)
            dp[n] = sp[n];
    }
    return d;
}
NL_WEAK_HIDDEN void *memset(void *d, int c, size_t n)
{
    unsigned char *dp = d;
    while (n--)
        *dp++ = (unsigned char)c;
    return d;
}
NL_WEAK_HIDDEN int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}
NL_WEAK_HIDDEN size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}
NL_WEAK_HIDDEN int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}
NL_WEAK_HIDDEN int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

/* Output: unbuffered, straight to the file descriptor. */
NL_WEAK_HIDDEN void put_str_fd(int fd, const char *s) { sys_write(fd, s, strlen(s)); }
NL_WEAK_HIDDEN void put_str(const char *s) { put_str_fd(1, s); }
NL_WEAK_HIDDEN void put_udec(unsigned long v)
{
    char buf[24];
    int i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sys_write(1, buf + i, sizeof buf - i);
}
NL_WEAK_HIDDEN void put_dec(long v)
{
    if (v < 0) {
        put_str("-");
        put_udec(0UL - (unsigned long)v);
    } else {
        put_udec((unsigned long)v);
    }
}
NL_WEAK_HIDDEN void put_hex(unsigned long v)
{
    char buf[18];
    int i = sizeof buf;
    do {
        buf[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[--i] = 'x';
    buf[--i] = '0';
    sys_write(1, buf + i, sizeof buf - i);
}
/* put_kv("name", value) prints "name=value\n". */
NL_WEAK_HIDDEN void put_kv(const char *k, long v)
{
    put_str(k);
    put_str("=");
    put_dec(v);
    put_str("\n");
}
NL_WEAK_HIDDEN void put_line(const char *s)
{
    put_str(s);
    put_str("\n");
}

/* Checks: put_check("what", cond) prints "ok: what" or "FAIL: what" and counts
 * failures in nl_failures (one counter per object, as everything is hidden). */
NL_WEAK_HIDDEN int nl_failures;
NL_WEAK_HIDDEN int put_check(const char *what, int ok)
{
    put_str(ok ? "ok: " : "FAIL: ");
    put_line(what);
    if (!ok)
        nl_failures++;
    return ok;
}
/* put_yesno("what", cond) prints "what: yes" or "what: no". */
NL_WEAK_HIDDEN void put_yesno(const char *what, int v)
{
    put_str(what);
    put_line(v ? ": yes" : ": no");
}

/* Reads NAME from /proc/self/environ into BUF (NUL-terminated); returns 1 if
 * set. Usable before _start has run, e.g. in IFUNC resolvers and constructors. */
NL_WEAK_HIDDEN int nl_proc_getenv(const char *name, char *buf, size_t size)
{
    char env[4096];
    int fd = sys_open("/proc/self/environ", O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof env - 1 && (r = sys_read(fd, env + n, sizeof env - 1 - n)) > 0)
        n += r;
    sys_close(fd);
    env[n < 0 ? 0 : n] = 0;
    size_t len = strlen(name);
    for (char *p = env; p < env + n; p += strlen(p) + 1) {
        if (strncmp(p, name, len) == 0 && p[len] == '=') {
            size_t i = 0;
            for (const char *v = p + len + 1; *v && i + 1 < size; v++)
                buf[i++] = *v;
            buf[i] = 0;
            return 1;
        }
    }
    return 0;
}

/* Threads on raw clone(): they share the address space, files and signal
 * handlers, and also the creator's thread pointer, so they must not use TLS.
 * nl_thread_join waits on the futex the kernel clears when the thread exits. */
#define NL_CLONE_VM 0x00000100
#define NL_CLONE_FS 0x00000200
#define NL_CLONE_FILES 0x00000400
#define NL_CLONE_SIGHAND 0x00000800
#define NL_CLONE_THREAD 0x00010000
#define NL_CLONE_SYSVSEM 0x00040000
#define NL_CLONE_PARENT_SETTID 0x00100000
#define NL_CLONE_CHILD_CLEARTID 0x00200000
#define NL_FUTEX_WAIT 0
#define NL_FUTEX_WAKE 1

struct nl_thread {
    volatile int tid; /* set by the kernel at creation, cleared at exit */
    int result;
    int (*fn)(void *);
    void *arg;
    void *stack;
    size_t stack_size;
};

NL_WEAK_HIDDEN __attribute__((noreturn, used)) void nl_thread_entry(struct nl_thread *t)
{
    t->result = t->fn(t->arg);
    for (;;)
        nl_syscall3(SYS_exit, 0, 0, 0);
}

/* Starts fn(arg) on a new thread with its own mmap'd stack; returns 0 or -errno. */
NL_WEAK_HIDDEN int nl_thread_start(struct nl_thread *t, int (*fn)(void *), void *arg, size_t stack_size)
{
    t->fn = fn;
    t->arg = arg;
    t->stack_size = stack_size;
    t->stack = sys_mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((unsigned long)t->stack > -4096UL)
        return (int)(long)t->stack;
    /* The child pops the entry function and its argument off its new stack. */
    void **sp = (void **)((char *)t->stack + stack_size);
    *--sp = t;
    *--sp = (void *)nl_thread_entry;
    unsigned long flags = NL_CLONE_VM | NL_CLONE_FS | NL_CLONE_FILES | NL_CLONE_SIGHAND |
                          NL_CLONE_THREAD | NL_CLONE_SYSVSEM | NL_CLONE_PARENT_SETTID |
                          NL_CLONE_CHILD_CLEARTID;
    long ret;
    register long r10 __asm__("r10") = (long)&t->tid;
    register long r8 __asm__("r8") = 0;
    __asm__ volatile("syscall\n"
                     "  test %%rax, %%rax\n"
                     "  jnz 1f\n"
                     "  xor %%ebp, %%ebp\n"
                     "  pop %%rax\n"
                     "  pop %%rdi\n"
                     "  and $-16, %%rsp\n"
                     "  call *%%rax\n"
                     "  hlt\n"
                     "1:\n"
                     : "=a"(ret)
                     : "a"(SYS_clone), "D"(flags), "S"(sp), "d"(&t->tid), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return (int)ret < 0 ? (int)ret : 0;
}

/* Waits for the thread to exit, frees its stack and returns fn's result. */
NL_WEAK_HIDDEN int nl_thread_join(struct nl_thread *t)
{
    int tid;
    while ((tid = t->tid) != 0)
        nl_syscall6(SYS_futex, (long)&t->tid, NL_FUTEX_WAIT, tid, 0, 0, 0);
    sys_munmap(t->stack, t->stack_size);
    return t->result;
}

#ifdef NOLIBC_MAIN
/* The fini function the dynamic linker passed in %rdx (may be NULL), and
 * argc/argv/envp/auxv and the stack pointer as _start received them. */
void (*nolibc_rtld_fini)(void) HIDDEN;
long nolibc_argc HIDDEN;
char **nolibc_argv HIDDEN;
char **nolibc_envp HIDDEN;
unsigned long *nolibc_auxv HIDDEN;
unsigned long *nolibc_initial_sp HIDDEN;

int main(int argc, char **argv, char **envp);

/* getenv() over the envp that _start received. */
NL_WEAK_HIDDEN char *nl_getenv(const char *name)
{
    size_t len = strlen(name);
    for (char **e = nolibc_envp; e && *e; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    return NULL;
}

NL_WEAK_HIDDEN unsigned long nl_getauxval(unsigned long type)
{
    for (unsigned long *a = nolibc_auxv; a && a[0]; a += 2)
        if (a[0] == type)
            return a[1];
    return 0;
}

/* exit(): with NOLIBC_RTLD_FINI defined, run the loader's fini function as
 * atexit(rtld_fini) would, then exit. glibc's ld.so can run that function only
 * for programs that link ld.so and a libc.so.6 (RTLD_LIBS in common.mk). */
NL_WEAK_HIDDEN __attribute__((noreturn)) void nl_exit(int status)
{
#ifdef NOLIBC_RTLD_FINI
    void (*fini)(void) = nolibc_rtld_fini;
    nolibc_rtld_fini = 0;
    if (fini)
        fini();
#endif
    sys_exit_group(status);
}

HIDDEN __attribute__((used, noreturn)) void nolibc_start_c(unsigned long *sp, void (*fini)(void))
{
    nolibc_initial_sp = sp;
    nolibc_rtld_fini = fini;
    nolibc_argc = (long)sp[0];
    nolibc_argv = (char **)(sp + 1);
    nolibc_envp = nolibc_argv + nolibc_argc + 1;
    char **e = nolibc_envp;
    while (*e)
        e++;
    nolibc_auxv = (unsigned long *)(e + 1);
    nl_exit(main((int)nolibc_argc, nolibc_argv, nolibc_envp));
}

__asm__(".text\n"
        ".global _start\n"
        ".type _start,@function\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  mov %rdx, %rsi\n"
        "  and $-16, %rsp\n"
        "  call nolibc_start_c\n"
        "  hlt\n"
        ".size _start, .-_start\n");
#endif /* NOLIBC_MAIN */

#endif /* NOLIBC_H */
