/* Relocations the linker does not emit as dynamic ones by default:
 * R_X86_64_SIZE64/SIZE32 (libsize.so), R_X86_64_PC32 and R_X86_64_NONE
 * (libpatch.so and this executable, partly made by relpatch). The program
 * never names b_data directly, so that no COPY of it exists and every
 * relocation against it reaches libb.so. */
#define NOLIBC_MAIN
#include "nolibc.h"

extern unsigned long size_words[4];
extern unsigned long exe_patch_none, exe_patch_same;
int *b_addr(void);
int b_func(int);
unsigned long *lib_patch_words(void);
unsigned long *lib_patch_target(void);

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    put_kv("b_array@SIZE", (long)size_words[0]);
    put_kv("b_array@SIZE+100", (long)size_words[1]);
    put_kv("b_data@SIZE", (long)size_words[2]);
    put_kv("b_array@SIZE (SIZE32)", (long)(unsigned)size_words[3]);
    put_check("the 4 bytes after the SIZE32 word unchanged",
              (unsigned)(size_words[3] >> 32) == 0x5a5a5a5a);

    /* libpatch.so: patch_none, patch_same, patch_pc32_ext (+4 bytes),
     * patch_pc32_self, then 0x3333. */
    unsigned long *w = lib_patch_words();
    int *b = b_addr();
    put_check("lib R_X86_64_NONE leaves the linker's 0", w[0] == 0);
    put_check("lib R_X86_64_64 next to it applied", w[1] == (unsigned long)b);
    long want = (long)((char *)b - (char *)&w[2]);
    put_check("lib R_X86_64_PC32 (from ld) = b_data - P", (long)(int)(unsigned)w[2] == want);
    put_check("lib PC32 leaves the next 4 bytes", (unsigned)(w[2] >> 32) == 0x5a5a5a5a);
    want = (long)((char *)lib_patch_target() - (char *)&w[3]);
    put_check("lib R_X86_64_PC32 (patched) = patch_target - P", (long)(int)(unsigned)w[3] == want);
    put_check("lib PC32 leaves the upper half 0", (w[3] >> 32) == 0);
    put_check("lib word after it unchanged", w[4] == 0x3333);
    put_kv("*patch_target", (long)*lib_patch_target());

    put_check("executable R_X86_64_NONE leaves the linker's 0", exe_patch_none == 0);
    put_check("executable R_X86_64_64 next to it applied",
              exe_patch_same == (unsigned long)(void *)b_func);
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
