/* What a program sees of itself: the auxiliary vector (AT_PHDR, AT_PHNUM,
 * AT_ENTRY, AT_EXECFN, AT_BASE), program_invocation_name, /proc/self/exe
 * and /proc/self/maps, and dl_iterate_phdr's first entry. Under shimld the
 * kernel started shimld, so each of these is something shimld must set up
 * as the kernel and ld.so would have. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char _start[];
extern char __ehdr_start[];

static void yesno(const char *what, int ok) { printf("%s: %s\n", what, ok ? "yes" : "no"); }

static int first_done;
static struct dl_phdr_info first;
static int first_entry(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    if (!first_done) {
        first = *info;
        first_done = 1;
    }
    return 0;
}

/* The name ld.so's link map gives the object containing addr, from the
 * dl_iterate_phdr entry whose segments cover it. */
static const char *covering(void *addr)
{
    struct find {
        ElfW(Addr) a;
        const char *name;
        int found;
    } f = { (ElfW(Addr))addr, NULL, 0 };
    int cb(struct dl_phdr_info * info, size_t size, void *data)
    {
        (void)size;
        struct find *f = data;
        for (int i = 0; i < info->dlpi_phnum; i++) {
            const ElfW(Phdr) *p = &info->dlpi_phdr[i];
            if (p->p_type == PT_LOAD && f->a >= info->dlpi_addr + p->p_vaddr &&
                f->a < info->dlpi_addr + p->p_vaddr + p->p_memsz) {
                f->name = info->dlpi_name;
                f->found = 1;
            }
        }
        return 0;
    }
    dl_iterate_phdr(cb, &f);
    if (!f.found)
        return "(none)";
    if (!*f.name)
        return "(empty)";
    const char *s = strrchr(f.name, '/');
    return s ? s + 1 : f.name;
}

int main(int argc, char **argv)
{
    (void)argc;
    unsigned long phdr = getauxval(AT_PHDR), phnum = getauxval(AT_PHNUM), entry = getauxval(AT_ENTRY);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)__ehdr_start;
    /* The load bias: 0 for a non-PIE program. */
    ElfW(Addr) bias = (ElfW(Addr))__ehdr_start;
    for (int i = 0; i < eh->e_phnum; i++) {
        const ElfW(Phdr) *p = (const ElfW(Phdr) *)(__ehdr_start + eh->e_phoff) + i;
        if (p->p_type == PT_LOAD && p->p_offset == 0) {
            bias -= p->p_vaddr;
            break;
        }
    }

    yesno("AT_PHDR is the program's headers", phdr == (unsigned long)__ehdr_start + eh->e_phoff);
    yesno("AT_PHNUM is the program's e_phnum", phnum == eh->e_phnum);
    printf("AT_PHENT: %lu\n", getauxval(AT_PHENT));
    yesno("AT_ENTRY is _start", entry == (unsigned long)_start);
    yesno("AT_ENTRY is the program's e_entry", entry == bias + eh->e_entry);
    printf("AT_EXECFN: %s\n", execfn ? execfn : "(null)");
    yesno("AT_EXECFN is argv[0]", execfn && strcmp(execfn, argv[0]) == 0);
    printf("argv[0]: %s\n", argv[0]);
    printf("program_invocation_name: %s\n", program_invocation_name);
    printf("program_invocation_short_name: %s\n", program_invocation_short_name);
    yesno("program_invocation_name is argv[0]", program_invocation_name == argv[0]);
    printf("AT_PAGESZ: %lu\n", getauxval(AT_PAGESZ));
    printf("AT_SECURE: %lu\n", getauxval(AT_SECURE));
    printf("AT_UID is getuid: %s\n", getauxval(AT_UID) == getuid() ? "yes" : "no");
    yesno("AT_RANDOM present", getauxval(AT_RANDOM) != 0);
    yesno("AT_SYSINFO_EHDR present", getauxval(AT_SYSINFO_EHDR) != 0);
    errno = 0;
    unsigned long at_base = getauxval(AT_BASE);
    printf("AT_BASE: %s\n", at_base ? "set" : errno == ENOENT ? "absent" : "zero");
    printf("AT_BASE is in: %s\n", at_base ? covering((void *)at_base) : "(none)");
    printf("object holding main: %s\n", covering((void *)main));

    char exe[PATH_MAX], real[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    yesno("/proc/self/exe is realpath(argv[0])", n > 0 && realpath(argv[0], real) && strcmp(exe, real) == 0);

    FILE *maps = fopen("/proc/self/maps", "r");
    char line[PATH_MAX + 200];
    int in_maps = 0, exec_mapped = 0;
    while (maps && fgets(line, sizeof line, maps)) {
        line[strcspn(line, "\n")] = 0;
        char *path = strchr(line, '/');
        if (path && realpath(argv[0], real) && strcmp(path, real) == 0) {
            in_maps = 1;
            exec_mapped |= strstr(line, " r-xp ") != NULL;
        }
    }
    if (maps)
        fclose(maps);
    yesno("/proc/self/maps maps the program's file", in_maps);
    yesno("/proc/self/maps maps it executable", exec_mapped);

    dl_iterate_phdr(first_entry, NULL);
    yesno("dl_iterate_phdr's first entry is the program (dlpi_phdr)", (unsigned long)first.dlpi_phdr == phdr);
    printf("dl_iterate_phdr's first name: \"%s\"\n", first.dlpi_name);
    yesno("its dlpi_addr is the load bias", first.dlpi_addr == bias);
    yesno("its dlpi_phnum is AT_PHNUM", first.dlpi_phnum == phnum);
    return 0;
}
