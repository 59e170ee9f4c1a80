/* relpatch: edits a built x86-64 ELF object in place, to make dynamic
 * relocations and dynamic tags that the linker will not emit.
 *
 *   relpatch reltype FILE SYMBOL TYPE [addend=N] [sym=NAME]
 *       The dynamic relocation (in an allocated SHT_RELA section) whose
 *       r_offset is SYMBOL's address gets type TYPE (a number or a name such
 *       as NONE, 64, PC32, RELATIVE), and if given addend N and the .dynsym
 *       symbol NAME.
 *   relpatch dynadd FILE TAG VALUE
 *       Turns the first of the spare DT_NULL entries at the end of .dynamic
 *       into TAG (a number or SYMBOLIC, RPATH, RUNPATH, TEXTREL, FLAGS,
 *       FLAGS_1, BIND_NOW) with VALUE: a number, or str:TEXT for the offset of
 *       TEXT (a whole string or the tail of one) in .dynstr.
 *
 * Built with the system libc; it is a build tool, not a test program. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char *img;
static size_t img_size;
static Elf64_Ehdr *eh;

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "relpatch: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

static Elf64_Shdr *shdr(int i) { return (Elf64_Shdr *)(img + eh->e_shoff) + i; }

static Elf64_Shdr *section_of_type(unsigned type, Elf64_Shdr *after)
{
    for (int i = 0; i < eh->e_shnum; i++) {
        Elf64_Shdr *s = shdr(i);
        if (after) {
            if (s == after)
                after = NULL;
            continue;
        }
        if (s->sh_type == type)
            return s;
    }
    return NULL;
}

static long dynsym_index(const char *name)
{
    Elf64_Shdr *s = section_of_type(SHT_DYNSYM, NULL);
    if (!s)
        return -1;
    Elf64_Sym *syms = (Elf64_Sym *)(img + s->sh_offset);
    const char *str = (const char *)img + shdr(s->sh_link)->sh_offset;
    for (size_t i = 1; i < s->sh_size / sizeof *syms; i++)
        if (strcmp(str + syms[i].st_name, name) == 0)
            return (long)i;
    return -1;
}

static int find_symbol(const char *name, Elf64_Addr *value)
{
    unsigned types[2] = {SHT_SYMTAB, SHT_DYNSYM};
    for (int t = 0; t < 2; t++) {
        Elf64_Shdr *s = section_of_type(types[t], NULL);
        if (!s)
            continue;
        Elf64_Sym *syms = (Elf64_Sym *)(img + s->sh_offset);
        const char *str = (const char *)img + shdr(s->sh_link)->sh_offset;
        for (size_t i = 0; i < s->sh_size / sizeof *syms; i++) {
            if (syms[i].st_shndx != SHN_UNDEF && strcmp(str + syms[i].st_name, name) == 0) {
                *value = syms[i].st_value;
                return 1;
            }
        }
    }
    return 0;
}

struct named { const char *name; long value; };

static long lookup(const struct named *tab, const char *s, const char *what)
{
    for (; tab->name; tab++)
        if (strcmp(tab->name, s) == 0)
            return tab->value;
    char *end;
    long v = strtol(s, &end, 0);
    if (*s == 0 || *end)
        die(what, s);
    return v;
}

static const struct named reltypes[] = {
    {"NONE", R_X86_64_NONE}, {"64", R_X86_64_64}, {"PC32", R_X86_64_PC32},
    {"COPY", R_X86_64_COPY}, {"GLOB_DAT", R_X86_64_GLOB_DAT},
    {"JUMP_SLOT", R_X86_64_JUMP_SLOT}, {"RELATIVE", R_X86_64_RELATIVE},
    {"32", R_X86_64_32}, {"SIZE32", R_X86_64_SIZE32}, {"SIZE64", R_X86_64_SIZE64},
    {"IRELATIVE", R_X86_64_IRELATIVE}, {NULL, 0}};

static const struct named dyntags[] = {
    {"SYMBOLIC", DT_SYMBOLIC}, {"RPATH", DT_RPATH}, {"RUNPATH", DT_RUNPATH},
    {"TEXTREL", DT_TEXTREL}, {"FLAGS", DT_FLAGS}, {"FLAGS_1", DT_FLAGS_1},
    {"BIND_NOW", DT_BIND_NOW}, {NULL, 0}};

static void reltype(const char *symbol, const char *type, char **opts, int nopts)
{
    Elf64_Addr addr;
    if (!find_symbol(symbol, &addr))
        die("no such defined symbol", symbol);
    long t = lookup(reltypes, type, "bad relocation type");
    Elf64_Rela *hit = NULL;
    for (Elf64_Shdr *s = NULL; (s = section_of_type(SHT_RELA, s));) {
        if (!(s->sh_flags & SHF_ALLOC))
            continue;
        Elf64_Rela *r = (Elf64_Rela *)(img + s->sh_offset);
        for (size_t i = 0; i < s->sh_size / sizeof *r; i++) {
            if (r[i].r_offset == addr) {
                if (hit)
                    die("several dynamic relocations at", symbol);
                hit = &r[i];
            }
        }
    }
    if (!hit)
        die("no dynamic relocation at", symbol);
    unsigned long sym = ELF64_R_SYM(hit->r_info);
    for (int i = 0; i < nopts; i++) {
        if (strncmp(opts[i], "addend=", 7) == 0) {
            hit->r_addend = strtol(opts[i] + 7, NULL, 0);
        } else if (strncmp(opts[i], "sym=", 4) == 0) {
            long idx = dynsym_index(opts[i] + 4);
            if (idx < 0)
                die("no such .dynsym symbol", opts[i] + 4);
            sym = (unsigned long)idx;
        } else {
            die("bad option", opts[i]);
        }
    }
    hit->r_info = ELF64_R_INFO(sym, (unsigned long)t);
}

static void dynadd(const char *tag, const char *value)
{
    Elf64_Shdr *dyn = section_of_type(SHT_DYNAMIC, NULL);
    if (!dyn)
        die("no .dynamic section", NULL);
    long v;
    if (strncmp(value, "str:", 4) == 0) {
        const char *text = value + 4;
        Elf64_Shdr *str = shdr(dyn->sh_link);
        const char *base = (const char *)img + str->sh_offset;
        size_t len = strlen(text);
        v = -1;
        for (size_t off = 0; off + len < str->sh_size; off++) {
            if (memcmp(base + off, text, len + 1) == 0) {
                v = (long)off;
                break;
            }
        }
        if (v < 0)
            die("string not in .dynstr", text);
    } else {
        static const struct named numbers_only[] = {{NULL, 0}};
        v = lookup(numbers_only, value, "bad value");
    }
    Elf64_Dyn *d = (Elf64_Dyn *)(img + dyn->sh_offset);
    size_t n = dyn->sh_size / sizeof *d;
    for (size_t i = 0; i + 1 < n; i++) {
        if (d[i].d_tag == DT_NULL) {
            if (d[i + 1].d_tag != DT_NULL)
                die("no spare DT_NULL entry", NULL);
            d[i].d_tag = lookup(dyntags, tag, "bad dynamic tag");
            d[i].d_un.d_val = (Elf64_Xword)v;
            return;
        }
    }
    die("no spare DT_NULL entry", NULL);
}

int main(int argc, char **argv)
{
    if (argc < 5)
        die("usage: relpatch reltype FILE SYMBOL TYPE [addend=N] [sym=NAME] | dynadd FILE TAG VALUE", NULL);
    int fd = open(argv[2], O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        die("cannot open", argv[2]);
    img_size = (size_t)st.st_size;
    img = mmap(NULL, img_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (img == MAP_FAILED)
        die("cannot map", argv[2]);
    eh = (Elf64_Ehdr *)img;
    if (img_size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64)
        die("not an x86-64 ELF file", argv[2]);
    if (strcmp(argv[1], "reltype") == 0)
        reltype(argv[3], argv[4], argv + 5, argc - 5);
    else if (strcmp(argv[1], "dynadd") == 0 && argc == 5)
        dynadd(argv[3], argv[4]);
    else
        die("unknown command", argv[1]);
    if (msync(img, img_size, MS_SYNC) < 0)
        die("cannot write", argv[2]);
    return 0;
}
