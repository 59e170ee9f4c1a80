/* libexb.so (C++, needs libexa.so): a static object and a destructor
 * function; a function-local static made when the program first calls in. */
#include "say.h"

extern "C" void exa_touch(void);
namespace {
struct Obj {
    const char *name;
    explicit Obj(const char *n) : name(n) { say(n), say("  ^ constructed"); }
    ~Obj() { say(name), say("  ^ destroyed"); }
};
Obj global("libexb: static object");
}
__attribute__((destructor)) static void exb_fini() { say("libexb: destructor"); }
void exb_touch()
{
    static Obj local("libexb: function-local static");
    exa_touch();
}
