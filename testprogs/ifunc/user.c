/* libifuncuser.so: takes lib_op's address (GLOB_DAT) without needing
 * libifunc.so, so the loader may relocate it before libifunc.so. */
void *user_op_addr(void)
{
    extern int lib_op(int);
    return (void *)lib_op;
}
