/* Text relocations: libtextrel.so has absolute addresses in .text (DT_TEXTREL),
 * and so has this executable (a PIE linked with -z notext). After relocation
 * the code must be read-only and executable again. */
#define NOLIBC_MAIN
#include "nolibc.h"

int *b_addr(void);
void *text_addr_b(void), *text_addr_own(void), *text_lea_own(void);
void *exe_text_addr_b(void), *exe_text_addr_own(void);
extern long exe_text_own;

/* The permissions ("r-xp" etc.) of the mapping holding addr, from /proc/self/maps. */
static void maps_perms(void *addr, char out[5])
{
    static char buf[65536];
    int fd = sys_open("/proc/self/maps", O_RDONLY);
    ssize_t n = 0, r;
    while (n < (ssize_t)sizeof buf - 1 && (r = sys_read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    sys_close(fd);
    buf[n] = 0;
    memcpy(out, "????", 5);
    for (char *line = buf; *line;) {
        unsigned long lo = 0, hi = 0;
        char *p = line;
        for (; *p != '-'; p++)
            lo = lo * 16 + (unsigned long)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
        for (p++; *p != ' '; p++)
            hi = hi * 16 + (unsigned long)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
        if ((unsigned long)addr >= lo && (unsigned long)addr < hi) {
            memcpy(out, p + 1, 4);
            return;
        }
        while (*line && *line++ != '\n')
            ;
    }
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    char perms[5];
    put_check("lib text R_X86_64_64 b_data", text_addr_b() == b_addr());
    put_check("lib text RELATIVE", text_addr_own() == text_lea_own());
    put_kv("lib *text_own", *(long *)text_addr_own());
    maps_perms((void *)text_addr_b, perms);
    put_str("lib text mapping: "), put_line(perms);
    put_check("executable text R_X86_64_64 b_data", exe_text_addr_b() == b_addr());
    put_check("executable text RELATIVE", exe_text_addr_own() == &exe_text_own);
    maps_perms((void *)exe_text_addr_b, perms);
    put_str("executable text mapping: "), put_line(perms);
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
