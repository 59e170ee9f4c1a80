/* Needs libifunc.so and then libifuncuser.so: glibc relocates objects in
 * reverse load order, so libifuncuser.so's GLOB_DAT against the IFUNC lib_op
 * is resolved before libifunc.so is relocated; glibc warns and goes on. */
#define NOLIBC_MAIN
#include "nolibc.h"

int lib_op(int);
void *user_op_addr(void);
int exe_op(int x) { return x; } /* libifunc.so calls it */

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    put_kv("lib_op(5)", lib_op(5));
    put_check("&lib_op = libifuncuser's GLOB_DAT", (void *)lib_op == user_op_addr());
    return nl_failures ? 1 : 0;
}
