/* libcxxcatch.so: catches what libcxxthrow.so throws, by base class, by the
 * weak type_info types and by std::exception; rethrows; dynamic_cast and
 * typeid on objects made in libcxxthrow.so; a thread_local object. */
#include <string>
#include <typeinfo>
#include "shapes.h"

std::string catch_in_lib(int which)
{
    try {
        switch (which) {
        case 0: throw_net(7); break;
        case 1: throw_inline(8); break;
        case 2: throw_box(9); break;
        case 3: throw_out_of_range(); break;
        }
    } catch (const BaseError &e) {
        return "libcxxcatch caught BaseError&: " + describe(e);
    } catch (const InlineError &e) {
        return "libcxxcatch caught InlineError: " + e.msg + " " + std::to_string(e.n);
    } catch (const Box<int> &b) {
        return "libcxxcatch caught Box<int>: " + std::to_string(b.v);
    } catch (const std::exception &e) {
        return "libcxxcatch caught std::exception&: " + std::string(typeid(e).name());
    }
    return "libcxxcatch: nothing thrown";
}

void rethrow_in_lib(int which)
{
    try {
        which ? throw_inline(which) : throw_net(which);
    } catch (...) {
        log_line("libcxxcatch: caught (...), rethrowing");
        throw;
    }
}

std::string cast_in_lib(Shape *s)
{
    std::string r = "typeid ";
    r += typeid(*s).name();
    r += typeid(*s) == typeid(Circle) ? ", is Circle" : ", not Circle";
    if (Circle *c = dynamic_cast<Circle *>(s))
        r += ", dynamic_cast<Circle*> ok: " + c->name();
    else
        r += ", dynamic_cast<Circle*> null";
    return r;
}

namespace {
struct PerThread {
    std::string who;
    PerThread() {}
    ~PerThread() { log_line("thread_local destructor in libcxxcatch for " + who); }
};
thread_local PerThread per_thread;

struct Announce {
    Announce() { log_line("static constructor: libcxxcatch"); }
    ~Announce() { log_line("static destructor: libcxxcatch"); }
} announce;
}

void touch_thread_object(const char *who) { per_thread.who = who; }
