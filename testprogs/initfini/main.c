/* The executable's own constructors and destructors (see obj.h), plus two
 * DT_PREINIT_ARRAY entries. For libc-free programs glibc's ld.so runs the
 * preinit array but not the executable's DT_INIT/INIT_ARRAY (libc's start
 * code would); its _dl_fini does run the executable's FINI_ARRAY and DT_FINI.
 * The output records what runs, in order. */
#define NOLIBC_MAIN
#define NAME "exe"
#define OBJ_INIT exe_dtinit
#define OBJ_FINI exe_dtfini
#include "obj.h"

static void pre0(int argc, char **argv, char **envp) { say_args("preinit_array[0]", argc, argv, envp); }
static void pre1(int argc, char **argv, char **envp) { say_args("preinit_array[1]", argc, argv, envp); }
__attribute__((used, section(".preinit_array"))) static void (*const preinit_array[])(int, char **, char **) = {pre0, pre1};

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    say("main");
    return 0;
}
