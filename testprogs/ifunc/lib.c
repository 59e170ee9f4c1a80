/* libifunc.so: an exported IFUNC (lib_op), a local one (hid_op, reached by
 * R_X86_64_IRELATIVE), and calls to the executable's IFUNC exe_op. Built with
 * EXE_ADDR (libifunc-addr.so) it also takes exe_op's address, which glibc
 * refuses when exe_op is an IFUNC in a PIE (see cases). */
#include "choice.h"

static int op_neg(int x) { return -x; }
static int op_add(int x) { return x + 1; }
static int op_mul(int x) { return x * 2; }
static void *resolve_lib_op(void)
{
    int c = choice();
    return c == 1 ? (void *)op_add : c == 2 ? (void *)op_mul : (void *)op_neg;
}
int lib_op(int) __attribute__((ifunc("resolve_lib_op")));

static int hid_sub(int x) { return x - 10; }
static int hid_div(int x) { return x / 2; }
static void *resolve_hid_op(void) { return choice() == 2 ? (void *)hid_div : (void *)hid_sub; }
static int hid_op(int) __attribute__((ifunc("resolve_hid_op")));

extern int exe_op(int);

int (*lib_op_ptr)(int) = lib_op;      /* R_X86_64_64 against an IFUNC */
#ifdef EXE_ADDR
int (*lib_exe_op_ptr)(int) = exe_op;  /* R_X86_64_64 against the executable's */
void *exe_op_addr(void) { return (void *)exe_op; }   /* GLOB_DAT */
#endif
static int (*hid_op_ptr)(int) = hid_op; /* R_X86_64_IRELATIVE */

void *lib_op_addr(void) { return (void *)lib_op; }   /* GLOB_DAT */
int lib_call_op(int x) { return lib_op(x); }         /* JUMP_SLOT, own IFUNC */
int lib_call_exe_op(int x) { return exe_op(x); }     /* JUMP_SLOT, executable's */
int lib_call_hid(int x) { return hid_op(x) + hid_op_ptr(x); }
void *lib_hid_addr(void) { return (void *)hid_op; }
void *lib_hid_ptr(void) { return (void *)hid_op_ptr; }
