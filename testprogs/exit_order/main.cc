/* The order of everything that runs at exit: atexit and on_exit handlers,
 * C++ static destructors (global and function-local), destructor functions
 * of the program and of libexa/libexb, an atexit handler registered by a
 * library constructor, at_quick_exit handlers, and the stdio flush.
 *   return  return 3 from main       exit    exit(5)
 *   thread  exit(9) from a thread    quick   quick_exit(4)
 *   child   fork; the child _exits (no handlers, unflushed stdio lost),
 *           the parent returns 0
 *   dlopen  dlopen libexc.so, leave it open, return 3 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <pthread.h>
#include <sys/wait.h>
#include "say.h"

void exb_touch();
namespace {
struct Obj {
    const char *name;
    explicit Obj(const char *n) : name(n) { say(n), say("  ^ constructed"); }
    ~Obj() { say(name), say("  ^ destroyed"); }
};
Obj global("program: static object");
}

__attribute__((constructor)) static void prog_init() { say("program: constructor function"); }
__attribute__((destructor)) static void prog_fini() { say("program: destructor function"); }
static void first_atexit() { say("program: atexit handler 1 (registered first)"); }
static void second_atexit() { say("program: atexit handler 2"); }
static void on_exit_handler(int status, void *arg)
{
    char buf[100];
    std::snprintf(buf, sizeof buf, "program: on_exit handler, status %d, arg %s", status, (const char *)arg);
    say(buf);
}
static void quick_handler() { say("program: at_quick_exit handler"); }

static void *exit_from_thread(void *) { say("thread: calling exit(9)"); std::exit(9); }

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "return";
    say("main: start");
    std::atexit(first_atexit);
    exb_touch();
    static Obj local("program: function-local static");
    on_exit(on_exit_handler, (void *)"hello");
    std::atexit(second_atexit);
    at_quick_exit(quick_handler);
    /* Buffered (stdout is a pipe): written when exit flushes stdio. */
    std::printf("main: printf before leaving (buffered)\n");

    if (!std::strcmp(mode, "exit")) {
        say("main: calling exit(5)");
        std::exit(5);
    }
    if (!std::strcmp(mode, "quick")) {
        say("main: calling quick_exit(4)");
        std::quick_exit(4);
    }
    if (!std::strcmp(mode, "thread")) {
        pthread_t t;
        pthread_create(&t, nullptr, exit_from_thread, nullptr);
        pthread_join(t, nullptr);
        return 1;
    }
    if (!std::strcmp(mode, "child")) {
        std::fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            std::printf("child: printf never flushed\n");
            say("child: calling _exit(7)");
            _exit(7);
        }
        int status;
        waitpid(pid, &status, 0);
        char buf[64];
        std::snprintf(buf, sizeof buf, "parent: child exited with %d", WEXITSTATUS(status));
        say(buf);
        say("main: returning 0");
        return 0;
    }
    if (!std::strcmp(mode, "dlopen")) {
        say(dlopen("libexc.so", RTLD_NOW) ? "main: dlopen(libexc.so) done" : dlerror());
    }
    say("main: returning 3");
    return 3;
}
