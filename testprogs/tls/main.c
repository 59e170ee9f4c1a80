/* TLS in the executable (local-exec for its own variables, initial-exec for
 * the libraries') and in libtlsie.so (initial-exec) and libtlsdesc.so
 * (TLSDESC). With GD defined (tls-dynamic), also libtlsgd.so (general- and
 * local-dynamic). Checks initial values, .tbss zeroes, alignment, relocated
 * pointers in .tdata, and that every model reaches the same variable. */
#define NOLIBC_MAIN
#include "nolibc.h"

__thread int exe_le = 51;
__thread int exe_shared = 52; /* the libraries reach it through dynamic relocations */
__thread int exe_aligned __attribute__((aligned(128))) = 53;
__thread char exe_zero[1000];
int exe_global = 54;
__thread int *exe_ptr = &exe_global; /* .tdata holding a relocated address */

extern __thread int ie_var, desc_var;
extern __thread long ie_aligned;
int *ie_var_addr(void), *ie_exe_shared_addr(void), ie_zero_nonzero(void);
long *ie_aligned_addr(void);
int *desc_var_addr(void), *desc_aligned_addr(void), *desc_ie_var_addr(void);
int *desc_exe_shared_addr(void), desc_ptr_ok(void);
#ifdef GD
extern __thread int gd_var;
int *gd_var_addr(void), *gd_ie_var_addr(void), *gd_desc_var_addr(void);
int *gd_exe_shared_addr(void), gd_ld_sum(void), gd_ld_distinct(void);
int gd_ld_zero_nonzero(void), gd_ptr_ok(void);
#endif

static unsigned long tp(void)
{
    unsigned long p;
    __asm__("mov %%fs:0, %0" : "=r"(p));
    return p;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    put_kv("exe_le", exe_le);
    put_kv("exe_shared", exe_shared);
    put_kv("exe_aligned", exe_aligned);
    put_kv("*exe_ptr", *exe_ptr);
    put_check("exe_ptr = &exe_global", exe_ptr == &exe_global);
    int nz = 0;
    for (int i = 0; i < 1000; i++)
        nz += exe_zero[i] != 0;
    put_kv("nonzero bytes in the executable's .tbss", nz);
    put_check("exe_aligned is 128-aligned", ((unsigned long)&exe_aligned & 127) == 0);
    put_check("executable TLS below the thread pointer", (unsigned long)&exe_le < tp());

    put_kv("ie_var", ie_var);
    put_kv("ie_aligned", ie_aligned);
    put_kv("desc_var", desc_var);
    put_kv("nonzero bytes in libtlsie's .tbss", ie_zero_nonzero());
    put_check("ie_aligned is 64-aligned", ((unsigned long)ie_aligned_addr() & 63) == 0);
    put_check("desc_aligned is 256-aligned", ((unsigned long)desc_aligned_addr() & 255) == 0);
    put_kv("*desc_aligned", *desc_aligned_addr());
    put_check("libtlsdesc's .tdata pointer", desc_ptr_ok());

    put_check("&ie_var: executable IE = libtlsie IE", &ie_var == ie_var_addr());
    put_check("&ie_var: executable IE = libtlsdesc TLSDESC", &ie_var == desc_ie_var_addr());
    put_check("&ie_aligned: executable IE = libtlsie IE", &ie_aligned == ie_aligned_addr());
    put_check("&desc_var: executable IE = libtlsdesc TLSDESC", &desc_var == desc_var_addr());
    put_check("&exe_shared: executable LE = libtlsie IE", &exe_shared == ie_exe_shared_addr());
    put_check("&exe_shared: executable LE = libtlsdesc TLSDESC", &exe_shared == desc_exe_shared_addr());
#ifdef GD
    put_kv("gd_var", gd_var);
    put_kv("ld_a + ld_b", gd_ld_sum());
    put_check("local-dynamic variables distinct and near", gd_ld_distinct());
    put_kv("nonzero bytes in libtlsgd's .tbss", gd_ld_zero_nonzero());
    put_check("libtlsgd's .tdata pointer", gd_ptr_ok());
    put_check("&gd_var: executable IE = libtlsgd GD", &gd_var == gd_var_addr());
    put_check("&ie_var: executable IE = libtlsgd GD", &ie_var == gd_ie_var_addr());
    put_check("&desc_var: executable IE = libtlsgd GD", &desc_var == gd_desc_var_addr());
    put_check("&exe_shared: executable LE = libtlsgd GD", &exe_shared == gd_exe_shared_addr());
#endif
    /* Writes through one model, reads through another. */
    exe_shared = 520;
    ie_var = 110;
    put_kv("exe_shared written 520, read by libtlsdesc", *desc_exe_shared_addr());
    put_kv("ie_var written 110, read by libtlsdesc", *desc_ie_var_addr());
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
