/* IFUNCs called and compared across objects, in a PIE or non-PIE executable:
 * lib_op (libifunc.so), exe_op (here, exported) and a local one, loc_op. With
 * EXE_ADDR the library also holds exe_op's address. */
#define NOLIBC_MAIN
#include "choice.h"

int lib_op(int);
extern int (*lib_op_ptr)(int), (*lib_exe_op_ptr)(int);
void *lib_op_addr(void), *exe_op_addr(void), *lib_hid_addr(void), *lib_hid_ptr(void);
int lib_call_op(int), lib_call_exe_op(int), lib_call_hid(int);

static int e_neg(int x) { return -100 - x; }
static int e_add(int x) { return 100 + x; }
static int e_mul(int x) { return 100 * x; }
static void *resolve_exe_op(void)
{
    int c = choice();
    return c == 1 ? (void *)e_add : c == 2 ? (void *)e_mul : (void *)e_neg;
}
int exe_op(int) __attribute__((ifunc("resolve_exe_op")));

static int l_one(int x) { return x + 1000; }
static int l_two(int x) { return x + 2000; }
static void *resolve_loc_op(void) { return choice() ? (void *)l_two : (void *)l_one; }
static int loc_op(int) __attribute__((ifunc("resolve_loc_op")));

int (*exe_lib_op_ptr)(int) = lib_op;
int (*exe_exe_op_ptr)(int) = exe_op;
int (*exe_loc_op_ptr)(int) = loc_op;

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    char *impl = nl_getenv("IFUNC_IMPL");
    put_str("IFUNC_IMPL="), put_line(impl ? impl : "(unset)");
    put_kv("lib_op(5) through the PLT", lib_op(5));
    put_kv("lib_op(5) called inside the library", lib_call_op(5));
    put_kv("lib_op(5) through the library's pointer", lib_op_ptr(5));
    put_kv("lib_op(5) through the executable's pointer", exe_lib_op_ptr(5));
    put_kv("exe_op(5)", exe_op(5));
    put_kv("exe_op(5) called from the library", lib_call_exe_op(5));
#ifdef EXE_ADDR
    put_kv("exe_op(5) through the library's pointer", lib_exe_op_ptr(5));
#endif
    put_kv("exe_op(5) through the executable's pointer", exe_exe_op_ptr(5));
    put_kv("loc_op(5)", loc_op(5));
    put_kv("loc_op(5) through a pointer", exe_loc_op_ptr(5));
    put_kv("library's local IFUNC, twice (20)", lib_call_hid(20));
    void *a = (void *)lib_op;
    put_check("&lib_op: executable = library GLOB_DAT", a == lib_op_addr());
    put_check("&lib_op: executable = library data pointer", a == (void *)lib_op_ptr);
    put_check("&lib_op: executable = executable data pointer", a == (void *)exe_lib_op_ptr);
    void *e = (void *)exe_op;
#ifdef EXE_ADDR
    put_check("&exe_op: executable = library GLOB_DAT", e == exe_op_addr());
    put_check("&exe_op: executable = library data pointer", e == (void *)lib_exe_op_ptr);
#endif
    /* ld decides these: in a non-PIE both are the PLT entry; in a PIE the code
     * has the PLT entry and the data pointer the resolved function. */
    put_yesno("&exe_op = executable's data pointer", e == (void *)exe_exe_op_ptr);
    put_yesno("&loc_op = data pointer", (void *)loc_op == (void *)exe_loc_op_ptr);
    put_check("library: &hid_op = IRELATIVE pointer", lib_hid_addr() == lib_hid_ptr());
    put_kv("failures", nl_failures);
    return nl_failures ? 1 : 0;
}
