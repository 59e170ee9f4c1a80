/* Constructors and destructors of every kind for one object named NAME
 * (a string): DT_INIT (OBJ_INIT, linked with -Wl,-init=), DT_FINI (OBJ_FINI,
 * -Wl,-fini=), two INIT_ARRAY and two FINI_ARRAY entries; each prints its
 * name. Init functions also check the (argc, argv, envp) they are given. */
#include "nolibc.h"
#define STR2(x) #x
#define STR(x) STR2(x)
#ifndef EXTRA_INIT0
#define EXTRA_INIT0
#endif
#ifndef EXTRA_DTINIT
#define EXTRA_DTINIT
#endif

static void say(const char *what)
{
    put_str(NAME ": ");
    put_line(what);
}
static void say_args(const char *what, int argc, char **argv, char **envp)
{
    put_str(NAME ": ");
    put_str(what);
    put_str(" argc=");
    put_dec(argc);
    put_str(" argv[1]=");
    put_str(argc > 1 && argv ? argv[1] : "-");
    put_line(envp == argv + argc + 1 ? " envp=ok" : " envp=wrong");
}
void OBJ_INIT(int argc, char **argv, char **envp)
{
    say_args("DT_INIT", argc, argv, envp);
    EXTRA_DTINIT
}
void OBJ_FINI(void) { say("DT_FINI"); }
static void init0(int argc, char **argv, char **envp)
{
    say_args("init_array[0]", argc, argv, envp);
    EXTRA_INIT0
}
static void init1(int argc, char **argv, char **envp) { say_args("init_array[1]", argc, argv, envp); }
static void fini0(void) { say("fini_array[0]"); }
static void fini1(void) { say("fini_array[1]"); }
__attribute__((used, section(".init_array"))) static void (*const init_array[])(int, char **, char **) = {init0, init1};
__attribute__((used, section(".fini_array"))) static void (*const fini_array[])(void) = {fini0, fini1};
