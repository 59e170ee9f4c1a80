/* C++ thread_local objects with constructors and destructors, in the program
 * and in a library. Threads run one after another so that the order of the
 * messages is fixed: constructed on first use, destroyed in reverse order at
 * thread exit; the main thread's are destroyed at exit, before the static
 * object. */
#include <cstdio>
#include <mutex>
#include <thread>
#include "tracker.h"

std::mutex say_lock;
static thread_local const char *who = "main";

void say(const char *fmt, const char *name)
{
    std::lock_guard<std::mutex> g(say_lock);
    std::printf("[%s] ", who);
    std::printf(fmt, name);
    std::printf("\n");
    std::fflush(stdout);
}

static Tracker static_obj("static_obj");
thread_local Tracker exe_a("exe_a");
thread_local Tracker exe_b("exe_b");

static void use_local(void)
{
    static thread_local Tracker local("function-local");
    local.touch();
}

static void run(const char *name, int order)
{
    who = name;
    say("start %s", name);
    if (order == 0) {
        exe_b.touch();
        exe_a.touch();
        lib_touch();
        use_local();
    } else {
        use_local();
        lib_touch();
        exe_a.touch();
    }
    say("end %s", name);
}

int main()
{
    std::thread t1(run, "t1", 0);
    t1.join();
    std::thread t2(run, "t2", 1);
    t2.join();
    std::thread t3([] { who = "t3"; say("%s touches nothing", "t3"); });
    t3.join();
    exe_a.touch();
    lib_touch();
    say("%s returns", "main");
    return 3;
}
