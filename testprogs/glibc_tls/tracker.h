/* A thread_local object that reports its construction and destruction. */
#include <cstdio>
#include <mutex>

extern std::mutex say_lock;
void say(const char *fmt, const char *name);

struct Tracker {
    const char *name;
    int touched = 0;
    explicit Tracker(const char *n) : name(n) { say("construct %s", name); }
    ~Tracker() { say("destroy %s", name); }
    void touch() { touched++; }
};

void lib_touch(void);
