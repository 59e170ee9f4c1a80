/* A library frame between the program's frames for backtrace(). */
int bt_lib_frame(int (*cb)(int), int depth)
{
    int r = cb(depth + 1);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return r + 1;
}
