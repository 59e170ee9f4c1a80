/* Checks liba's and the executable's relocations from the executable's side.
 * Built as a PIE and as a non-PIE executable, and with DT_RELR. */
#define NOLIBC_MAIN
#include "nolibc.h"
#include "relr.h"

extern int a_data, a_array[6], b_data;
int a_func(int), b_func(int), a_call_b(int), a_call_self(int), a_read_data(void);
void **a_table(void);
int *a_got_data(void), *a_got_array(void), *a_got_b(void), *a_got_exe(void);
void a_write_array(int, int);
int a_relr_bad(void);
int *got_b_data(void); /* got.c: b_data through this object's GOT */

int exe_data = 300;
static int exe_local = 5;
/* b_data only appears here, so a non-PIE executable keeps an R_X86_64_64 for
 * it rather than a COPY. */
void *exe_ptrs[5] = {&b_data, (void *)a_func, (void *)b_func, &exe_local, &exe_data};

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    void **t = a_table();
    put_kv("a_func(5)", a_func(5));
    put_kv("b_func(1)", b_func(1));
    put_kv("a_call_b(2)", a_call_b(2));
    put_kv("a_call_self(5)", a_call_self(5));
    put_check("liba R_X86_64_64 a_data = executable's a_data", t[0] == &a_data);
    put_check("liba R_X86_64_64 a_array+2", t[1] == &a_array[2]);
    put_check("liba R_X86_64_64 a_func = executable's &a_func", t[2] == (void *)a_func);
    put_check("liba R_X86_64_64 b_data", t[3] == exe_ptrs[0]);
    put_check("liba R_X86_64_64 b_func = executable's &b_func", t[4] == (void *)b_func);
    put_kv("liba RELATIVE *a_local", *(int *)t[5]);
    put_kv("liba RELATIVE a_local_fn(10)", ((int (*)(int))t[6])(10));
    put_check("liba R_X86_64_64 exe_data", t[7] == &exe_data);
    put_check("liba GLOB_DAT a_data", a_got_data() == &a_data);
    put_check("liba GLOB_DAT a_array", a_got_array() == a_array);
    put_check("liba GLOB_DAT b_data", a_got_b() == exe_ptrs[0]);
    put_check("liba GLOB_DAT exe_data", a_got_exe() == &exe_data);
    put_check("executable GLOB_DAT b_data", got_b_data() == exe_ptrs[0]);
    put_kv("b_data", *(int *)exe_ptrs[0]);
    put_check("executable pointer a_func", exe_ptrs[1] == (void *)a_func);
    put_kv("executable pointer a_func(2)", ((int (*)(int))exe_ptrs[1])(2));
    put_kv("executable pointer b_func(2)", ((int (*)(int))exe_ptrs[2])(2));
    put_kv("executable pointer *exe_local", *(int *)exe_ptrs[3]);
    put_kv("executable pointer *exe_data", *(int *)exe_ptrs[4]);
    /* The copied data: initial values, then writes seen from both sides. */
    put_kv("a_data", a_data);
    for (int i = 0; i < 6; i++)
        put_dec(a_array[i]), put_str(i < 5 ? " " : "\n");
    a_data = 101;
    put_kv("liba reads a_data after the executable wrote 101", a_read_data());
    a_write_array(3, 99);
    put_kv("executable reads a_array[3] after liba wrote 99", a_array[3]);
    put_kv("liba RELATIVE table errors", a_relr_bad());
    put_kv("executable RELATIVE table errors", relr_bad());
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
