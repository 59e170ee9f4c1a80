/* The dl* API with glibc's semantics, one area per argument:
 *   lazy      RTLD_LAZY vs RTLD_NOW with an undefined function
 *   local     RTLD_LOCAL hides symbols, RTLD_GLOBAL (and promotion) shows them
 *   noload    RTLD_NOLOAD
 *   refcount  dlopen twice, dlclose twice; unloading, reloading
 *   nodelete  RTLD_NODELETE and -z nodelete
 *   deepbind  RTLD_DEEPBIND against the program's definition
 *   default   RTLD_DEFAULT, dlopen(NULL)
 *   next      RTLD_NEXT from wrappers in a library
 *   dlerror   error texts, NULL once read, per thread
 *   dladdr    dladdr, dladdr1
 *   dlinfo    RTLD_DI_LINKMAP, RTLD_DI_ORIGIN, RTLD_DI_LMID, RTLD_DI_TLS_MODID,
 *             the link map list
 *   dlvsym    versioned lookups
 *   phdr      dl_iterate_phdr against getauxval
 *   core      dlopen of glibc's own libraries (libm.so.6, libc.so.6)
 *   dlmopen   dlmopen(LM_ID_BASE)
 * Paths in messages are cut to their last component. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include "test_parts.h"

static const char *prog_path;

/* The message with every path cut to its last component. */
static const char *strip(const char *msg)
{
    static char buf[1024];
    if (!msg)
        return "(null)";
    size_t o = 0, word = 0;
    for (const char *p = msg; *p && o < sizeof buf - 1; p++) {
        if (*p == '/') {
            o = word;
            continue;
        }
        buf[o++] = *p;
        if (*p == ' ' || *p == '(')
            word = o;
    }
    buf[o] = 0;
    return buf;
}

static const char *base(const char *path)
{
    if (!path)
        return "(null)";
    if (!*path)
        return "(empty)";
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void *open_lib(const char *name, int mode)
{
    void *h = dlopen(name, mode);
    if (!h)
        printf("dlopen(%s) failed: %s\n", name, strip(dlerror()));
    fflush(stdout);
    return h;
}

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p)
        printf("dlsym(%s) failed: %s\n", name, strip(dlerror()));
    return p;
}

static int loaded(const char *name)
{
    void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (h)
        dlclose(h);
    return h != NULL;
}

static void yesno(const char *what, int ok) { printf("%s: %s\n", what, ok ? "yes" : "no"); }
static void step(const char *what)
{
    printf("%s\n", what);
    fflush(stdout);
}

/* ---------------------------------------------------------------- */
static void test_lazy(void)
{
    void *h = dlopen("libdllazy.so", RTLD_NOW);
    printf("RTLD_NOW: %s\n", h ? "loaded" : strip(dlerror()));
    yesno("loaded after the failed RTLD_NOW", loaded("libdllazy.so"));
    h = open_lib("libdllazy.so", RTLD_LAZY);
    if (h) {
        int (*f)(void) = (int (*)(void))sym(h, "lazy_value");
        printf("RTLD_LAZY: loaded, lazy_value() = %d\n", f ? f() : -1);
        dlclose(h);
    }
    yesno("loaded after dlclose", loaded("libdllazy.so"));
}

static void test_local(void)
{
    void *prov = open_lib("libdlprov.so", RTLD_NOW | RTLD_LOCAL);
    if (!prov)
        return;
    dlerror();
    yesno("RTLD_LOCAL: prov_value through RTLD_DEFAULT", dlsym(RTLD_DEFAULT, "prov_value") != NULL);
    printf("  dlerror: %s\n", strip(dlerror()));
    yesno("RTLD_LOCAL: prov_value through the handle", dlsym(prov, "prov_value") != NULL);
    void *cons = dlopen("libdlcons.so", RTLD_NOW);
    printf("libdlcons.so with its provider local: %s\n", cons ? "loaded" : strip(dlerror()));
    cons = dlopen("libdlcons.so", RTLD_LAZY);
    printf("libdlcons.so lazily with its provider local: %s\n", cons ? "loaded" : strip(dlerror()));

    /* Promote the loaded library to global. */
    void *again = open_lib("libdlprov.so", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    yesno("RTLD_NOLOAD|RTLD_GLOBAL returns the same handle", again == prov);
    int (*pv)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "prov_value");
    yesno("RTLD_GLOBAL: prov_value through RTLD_DEFAULT", pv != NULL);
    cons = open_lib("libdlcons.so", RTLD_NOW);
    if (cons) {
        int (*cv)(void) = (int (*)(void))sym(cons, "cons_value");
        printf("cons_value() = %d\n", cv ? cv() : -1);
        dlclose(cons);
    }
    dlclose(again);
    dlclose(prov);
    /* The program's own RTLD_DEFAULT lookup that found prov_value recorded a
     * dependency of the program on libdlprov.so: it stays. */
    yesno("libdlprov.so loaded after closing both handles (the program's dlsym bound to it)",
          loaded("libdlprov.so"));
}

static void test_noload(void)
{
    dlerror();
    void *h = dlopen("libdlbasic.so", RTLD_NOW | RTLD_NOLOAD);
    printf("RTLD_NOLOAD before loading: %s, dlerror: %s\n", h ? "handle" : "NULL", strip(dlerror()));
    void *real = open_lib("libdlbasic.so", RTLD_NOW);
    h = dlopen("libdlbasic.so", RTLD_NOW | RTLD_NOLOAD);
    yesno("RTLD_NOLOAD after loading returns the handle", h && h == real);
    yesno("the dependency is loaded too", loaded("libdldep.so"));
    step("closing both");
    dlclose(h);
    dlclose(real);
    yesno("RTLD_NOLOAD after the last dlclose", loaded("libdlbasic.so"));
}

static void test_refcount(void)
{
    step("dlopen #1");
    void *h1 = open_lib("libdlbasic.so", RTLD_NOW);
    step("dlopen #2");
    void *h2 = open_lib("libdlbasic.so", RTLD_LAZY);
    yesno("same handle", h1 == h2);
    int (*calls)(void) = (int (*)(void))sym(h1, "basic_calls");
    int *counter = (int *)sym(h1, "basic_counter");
    int c1 = calls(), c2 = calls();
    printf("basic_calls: %d %d, basic_counter %d\n", c1, c2, *counter);
    *counter = 555;
    step("dlclose #1");
    dlclose(h1);
    yesno("still loaded", loaded("libdlbasic.so"));
    printf("basic_calls through the old pointer: %d\n", calls());
    step("dlclose #2");
    dlclose(h2);
    yesno("still loaded", loaded("libdlbasic.so"));
    yesno("dependency still loaded", loaded("libdldep.so"));
    step("dlopen again");
    h1 = open_lib("libdlbasic.so", RTLD_NOW);
    calls = (int (*)(void))sym(h1, "basic_calls");
    counter = (int *)sym(h1, "basic_counter");
    printf("basic_calls after reloading: %d, basic_counter %d\n", calls(), *counter);
    step("dlopen the dependency on its own, then dlclose the library");
    void *dep = open_lib("libdldep.so", RTLD_NOW);
    dlclose(h1);
    yesno("dependency still loaded", loaded("libdldep.so"));
    step("dlclose the dependency");
    dlclose(dep);
    step("done");
}

static void test_nodelete(void)
{
    const char *names[] = { "libdlnodel.so", "libdlnodel2.so" };
    for (int i = 0; i < 2; i++) {
        printf("%s:\n", names[i]);
        step("dlopen");
        void *h = open_lib(names[i], RTLD_NOW | (i == 0 ? RTLD_NODELETE : 0));
        int (*calls)(void) = (int (*)(void))sym(h, "nodel_calls");
        printf("nodel_calls: %d\n", calls());
        step("dlclose");
        dlclose(h);
        yesno("still loaded", loaded(names[i]));
        printf("nodel_calls through the old pointer: %d\n", calls());
        step("dlopen again");
        h = open_lib(names[i], RTLD_NOW);
        printf("nodel_calls: %d\n", calls());
        dlclose(h);
    }
    step("returning from main");
}

const char *deep_fn(void) { return "program's deep_fn"; }

static void test_deepbind(void)
{
    void *h1 = open_lib("libdldeep1.so", RTLD_NOW);
    void *h2 = open_lib("libdldeep2.so", RTLD_NOW | RTLD_DEEPBIND);
    if (!h1 || !h2)
        return;
    const char *(*c1)(void) = (const char *(*)(void))sym(h1, "deep_call");
    const char *(*c2)(void) = (const char *(*)(void))sym(h2, "deep_call");
    printf("without RTLD_DEEPBIND the library calls the %s\n", c1());
    printf("with RTLD_DEEPBIND the library calls the %s\n", c2());
    printf("the program calls the %s\n", deep_fn());
    const char *(*d)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "deep_fn");
    printf("RTLD_DEFAULT finds the %s\n", d ? d() : "(nothing)");
    dlclose(h2);
    dlclose(h1);
}

int exported_fn(void) { return 77; }

static void test_default(void)
{
    int (*f)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "exported_fn");
    yesno("RTLD_DEFAULT finds the program's exported_fn", f == exported_fn);
    void *self = dlopen(NULL, RTLD_NOW);
    yesno("dlopen(NULL) handle finds it", self && dlsym(self, "exported_fn") == (void *)exported_fn);
    yesno("RTLD_DEFAULT qsort is the program's qsort", dlsym(RTLD_DEFAULT, "qsort") == (void *)qsort);
    yesno("dlopen(NULL) handle finds libc's strtol", self && dlsym(self, "strtol") == (void *)strtol);
    yesno("RTLD_DEFAULT finds target_fn of a DT_NEEDED library", dlsym(RTLD_DEFAULT, "target_fn") != NULL);
    dlerror();
    void *none = dlsym(RTLD_DEFAULT, "no_such_symbol_anywhere");
    printf("missing symbol through RTLD_DEFAULT: %s, %s\n", none ? "found" : "NULL", strip(dlerror()));
    yesno("dlsym(RTLD_DEFAULT, exported_fn) is callable", f && f() == 77);
    dlclose(self);
}

const char *target_fn(void);
void *next_of_exported(void);

static void test_next(void)
{
    printf("target_fn() = %s\n", target_fn());
    printf("getenv(DL_WRAPPED) = %s\n", getenv("DL_WRAPPED"));
    printf("getenv(DL_PLAIN) = %s\n", getenv("DL_PLAIN") ? getenv("DL_PLAIN") : "(null)");
    const char *(*next)(void) = (const char *(*)(void))dlsym(RTLD_NEXT, "target_fn");
    printf("RTLD_NEXT from the program: %s\n", next ? next() : "(null)");
    yesno("RTLD_NEXT from the library for the program's exported_fn", next_of_exported() != NULL);
}

static pthread_barrier_t sync2;
static const char *thread_saw[3];
static void *error_thread(void *arg)
{
    (void)arg;
    dlerror();
    dlsym(RTLD_DEFAULT, "thread_only_missing_symbol");
    pthread_barrier_wait(&sync2); /* main checks its own dlerror */
    pthread_barrier_wait(&sync2); /* main made its own error */
    static char copy[256];
    snprintf(copy, sizeof copy, "%s", strip(dlerror()));
    thread_saw[0] = copy;
    thread_saw[1] = dlerror();
    return NULL;
}

static void test_dlerror(void)
{
    printf("dlerror before any error: %s\n", strip(dlerror()));
    void *h = dlopen("libdoesnotexist.so", RTLD_NOW);
    printf("missing library: %s\n", h ? "loaded" : strip(dlerror()));
    printf("dlerror once read: %s\n", strip(dlerror()));
    h = dlopen("./libdoesnotexist.so", RTLD_LAZY);
    printf("missing library by path: %s\n", h ? "loaded" : strip(dlerror()));
    h = dlopen("libnotelf.so", RTLD_NOW);
    printf("not an ELF file: %s\n", h ? "loaded" : strip(dlerror()));
    h = open_lib("libdlbasic.so", RTLD_NOW);
    void *p = dlsym(h, "no_such_function");
    printf("missing symbol: %s\n", p ? "found" : strip(dlerror()));
    printf("dlerror once read: %s\n", strip(dlerror()));
    dlsym(h, "no_such_function");
    dlsym(h, "basic_calls");
    printf("error kept across a successful dlsym: %s\n", strip(dlerror()));
    dlclose(h);

    pthread_t t;
    pthread_barrier_init(&sync2, NULL, 2);
    pthread_create(&t, NULL, error_thread, NULL);
    pthread_barrier_wait(&sync2);
    printf("main thread after the other thread's error: %s\n", strip(dlerror()));
    dlopen("libmainthreadonly.so", RTLD_NOW);
    pthread_barrier_wait(&sync2);
    pthread_join(t, NULL);
    printf("other thread's error: %s\n", thread_saw[0]);
    printf("other thread's second dlerror: %s\n", strip(thread_saw[1]));
    printf("main thread's error: %s\n", strip(dlerror()));
}

static void show_dladdr(const char *what, void *addr)
{
    Dl_info info;
    if (!dladdr(addr, &info)) {
        printf("dladdr(%s): 0\n", what);
        return;
    }
    printf("dladdr(%s): %s, %s, exact: %s\n", what, base(info.dli_fname), info.dli_sname ? info.dli_sname : "(null)",
           info.dli_saddr == addr ? "yes" : "no");
}

static void test_dladdr(void)
{
    show_dladdr("exported_fn", (void *)exported_fn);
    show_dladdr("exported_fn+1", (char *)exported_fn + 1);
    show_dladdr("qsort", (void *)qsort);
    show_dladdr("strtol", (void *)strtol);
    show_dladdr("target_fn", (void *)target_fn);
    void *h = open_lib("libdlbasic.so", RTLD_NOW);
    void *f = sym(h, "basic_calls");
    show_dladdr("basic_calls", f);
    show_dladdr("basic_counter", sym(h, "basic_counter"));
    int local;
    show_dladdr("a stack variable", &local);

    Dl_info info;
    const ElfW(Sym) *s = NULL;
    if (dladdr1(f, &info, (void **)&s, RTLD_DL_SYMENT) && s)
        printf("dladdr1 RTLD_DL_SYMENT: function %s, global %s, size > 0 %s, value matches %s\n",
               ELF64_ST_TYPE(s->st_info) == STT_FUNC ? "yes" : "no",
               ELF64_ST_BIND(s->st_info) == STB_GLOBAL ? "yes" : "no", s->st_size > 0 ? "yes" : "no",
               (char *)info.dli_fbase + s->st_value == (char *)f ? "yes" : "no");
    else
        printf("dladdr1 RTLD_DL_SYMENT failed\n");
    struct link_map *m = NULL;
    if (dladdr1(f, &info, (void **)&m, RTLD_DL_LINKMAP) && m)
        printf("dladdr1 RTLD_DL_LINKMAP: %s, l_addr is dli_fbase: %s\n", base(m->l_name),
               (void *)m->l_addr == info.dli_fbase ? "yes" : "no");
    else
        printf("dladdr1 RTLD_DL_LINKMAP failed\n");
    dlclose(h);
}

static void test_dlinfo(void)
{
    void *h = open_lib("libdlbasic.so", RTLD_NOW);
    struct link_map *m = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &m) == 0)
        printf("RTLD_DI_LINKMAP: %s, handle is the link map: %s\n", base(m->l_name), (void *)m == h ? "yes" : "no");
    char origin[PATH_MAX], want[PATH_MAX];
    if (dlinfo(h, RTLD_DI_ORIGIN, origin) == 0 && realpath(prog_path, want)) {
        char real[PATH_MAX];
        yesno("RTLD_DI_ORIGIN is the program's directory",
              realpath(origin, real) && strcmp(real, dirname(want)) == 0);
    } else
        printf("RTLD_DI_ORIGIN failed: %s\n", strip(dlerror()));
    Lmid_t lmid = -1;
    dlinfo(h, RTLD_DI_LMID, &lmid);
    printf("RTLD_DI_LMID: %ld\n", (long)lmid);
    size_t modid = 99;
    dlinfo(h, RTLD_DI_TLS_MODID, &modid);
    printf("RTLD_DI_TLS_MODID of a library without TLS: %zu\n", modid);
    void *p = (void *)1;
    dlinfo(h, RTLD_DI_TLS_DATA, &p);
    printf("RTLD_DI_TLS_DATA of a library without TLS: %s\n", p ? "non-null" : "NULL");
    dlclose(h);

    void *self = dlopen(NULL, RTLD_NOW);
    m = NULL;
    dlinfo(self, RTLD_DI_LINKMAP, &m);
    printf("link map from dlopen(NULL):");
    for (; m; m = m->l_next)
        printf(" %s", base(m->l_name));
    printf("\n");
}

static void test_dlvsym(void)
{
    void *h = open_lib("libdlver.so", RTLD_NOW);
    if (!h)
        return;
    int (*f)(void);
    f = (int (*)(void))dlvsym(h, "vfn", "VER_1");
    printf("dlvsym(vfn, VER_1) = %d\n", f ? f() : -1);
    f = (int (*)(void))dlvsym(h, "vfn", "VER_2");
    printf("dlvsym(vfn, VER_2) = %d\n", f ? f() : -1);
    f = (int (*)(void))dlsym(h, "vfn");
    printf("dlsym(vfn) = %d\n", f ? f() : -1);
    f = (int (*)(void))dlvsym(h, "only_v1", "VER_1");
    printf("dlvsym(only_v1, VER_1) = %d\n", f ? f() : -1);
    f = (int (*)(void))dlvsym(h, "vfn", "VER_3");
    printf("dlvsym(vfn, VER_3): %s\n", f ? "found" : strip(dlerror()));
    f = (int (*)(void))dlvsym(RTLD_DEFAULT, "qsort", "GLIBC_2.2.5");
    yesno("dlvsym(RTLD_DEFAULT, qsort, GLIBC_2.2.5) is qsort", (void *)f == (void *)qsort);
    dlclose(h);
}

struct phdr_walk {
    int n;
    char names[32][64];
    const void *first_phdr;
    int first_phnum;
    ElfW(Addr) first_addr;
    int basic_seen;
    unsigned long long adds;
};

static int walk(struct dl_phdr_info *info, size_t size, void *data)
{
    struct phdr_walk *w = data;
    (void)size;
    if (w->n == 0) {
        w->first_phdr = info->dlpi_phdr;
        w->first_phnum = info->dlpi_phnum;
        w->first_addr = info->dlpi_addr;
        w->adds = info->dlpi_adds;
    }
    if (w->n < 32) {
        /* The vDSO's name is the kernel's choice. */
        const char *b = base(info->dlpi_name);
        snprintf(w->names[w->n], 64, "%s", strncmp(b, "linux-vdso", 10) == 0 ? "[vdso]" : b);
    }
    w->basic_seen |= strcmp(base(info->dlpi_name), "libdlbasic.so") == 0;
    w->n++;
    return 0;
}

static void test_phdr(void)
{
    struct phdr_walk w = { 0 };
    dl_iterate_phdr(walk, &w);
    printf("objects:");
    for (int i = 0; i < w.n && i < 32; i++)
        printf(" %s", w.names[i]);
    printf("\n");
    yesno("first object's dlpi_phdr is AT_PHDR", (unsigned long)w.first_phdr == getauxval(AT_PHDR));
    yesno("first object's dlpi_phnum is AT_PHNUM", (unsigned long)w.first_phnum == getauxval(AT_PHNUM));
    const ElfW(Phdr) *ph = w.first_phdr;
    int bias_ok = 0;
    for (int i = 0; i < w.first_phnum; i++)
        if (ph[i].p_type == PT_PHDR)
            bias_ok = w.first_addr + ph[i].p_vaddr == (ElfW(Addr))ph;
    yesno("first object's dlpi_addr + PT_PHDR's p_vaddr is AT_PHDR", bias_ok);
    extern char __ehdr_start[];
    yesno("first object's dlpi_addr is the program's load address", w.first_addr == (ElfW(Addr))__ehdr_start);

    int before = w.n;
    unsigned long long adds = w.adds;
    void *h = open_lib("libdlbasic.so", RTLD_NOW);
    memset(&w, 0, sizeof w);
    dl_iterate_phdr(walk, &w);
    printf("after dlopen: %d more objects, libdlbasic.so listed: %s, dlpi_adds grew by %llu\n", w.n - before,
           w.basic_seen ? "yes" : "no", w.adds - adds);
    dlclose(h);
    memset(&w, 0, sizeof w);
    dl_iterate_phdr(walk, &w);
    printf("after dlclose: %d objects more than at first, libdlbasic.so listed: %s\n", w.n - before,
           w.basic_seen ? "yes" : "no");
}

static void test_core(void)
{
    yesno("libm.so.6 loaded at first", loaded("libm.so.6"));
    void *m = open_lib("libm.so.6", RTLD_NOW);
    double (*c)(double) = (double (*)(double))sym(m, "cos");
    double (*p)(double, double) = (double (*)(double, double))sym(m, "pow");
    printf("cos(0) = %g, pow(2, 10) = %g\n", c ? c(0.0) : -1, p ? p(2, 10) : -1);
    Dl_info info;
    printf("cos is in %s\n", c && dladdr((void *)c, &info) ? base(info.dli_fname) : "(unknown)");
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    yesno("libc.so.6 is loaded", libc != NULL);
    yesno("its qsort is the program's", libc && dlsym(libc, "qsort") == (void *)qsort);
    void *libc2 = open_lib("libc.so.6", RTLD_NOW);
    yesno("dlopen(libc.so.6) gives the same handle", libc2 == libc);
    void *ldso = dlopen("ld-linux-x86-64.so.2", RTLD_NOW | RTLD_NOLOAD);
    yesno("ld-linux-x86-64.so.2 is loaded", ldso != NULL);
    void *pt = open_lib("libpthread.so.0", RTLD_NOW);
    yesno("libpthread.so.0's pthread_create is libc's", pt && dlsym(pt, "pthread_create") == (void *)pthread_create);
    dlclose(pt);
    dlclose(ldso);
    dlclose(libc2);
    dlclose(libc);
    dlclose(m);
}

static void test_dlmopen(void)
{
    step("dlmopen(LM_ID_BASE)");
    void *h = dlmopen(LM_ID_BASE, "libdlbasic.so", RTLD_NOW);
    if (!h) {
        printf("dlmopen failed: %s\n", strip(dlerror()));
        return;
    }
    void *h2 = open_lib("libdlbasic.so", RTLD_NOW | RTLD_NOLOAD);
    yesno("dlopen finds the same object", h == h2);
    Lmid_t lmid = -1;
    dlinfo(h, RTLD_DI_LMID, &lmid);
    printf("RTLD_DI_LMID: %ld\n", (long)lmid);
    int (*calls)(void) = (int (*)(void))sym(h, "basic_calls");
    printf("basic_calls: %d\n", calls ? calls() : -1);
    dlclose(h2);
    step("dlclose");
    dlclose(h);
    step("done");
}

int main(int argc, char **argv)
{
    prog_path = argv[0];
    setvbuf(stdout, NULL, _IOLBF, 0); /* in order with the libraries' write()s */
    const struct test_part tests[] = {
        { "lazy", test_lazy },       { "local", test_local },       { "noload", test_noload },
        { "refcount", test_refcount }, { "nodelete", test_nodelete }, { "deepbind", test_deepbind },
        { "default", test_default }, { "next", test_next },         { "dlerror", test_dlerror },
        { "dladdr", test_dladdr },   { "dlinfo", test_dlinfo },     { "dlvsym", test_dlvsym },
        { "phdr", test_phdr },       { "core", test_core },         { "dlmopen", test_dlmopen },
    };
    return run_parts(argc, argv, tests, sizeof tests / sizeof *tests, 1);
}
