/* libcxxthrow.so: throws every kind of exception, and defines Circle. */
#include <vector>
#include "shapes.h"

void throw_net(int code) { throw NetError("connection refused", code); }
void throw_inline(int n) { throw InlineError{"inline error", n}; }
void throw_box(int v) { throw Box<int>(v); }
void throw_out_of_range()
{
    std::vector<int> v(3);
    (void)v.at(7);
}
void call_through(const std::function<void()> &f)
{
    log_line("call_through: calling back");
    f();
    log_line("call_through: not reached");
}

Circle::Circle(double radius) : r(radius) {}
Circle::~Circle() {}
std::string Circle::name() const { return "circle of radius " + std::to_string((int)r); }
Shape *make_circle(double r) { return new Circle(r); }
Shape *make_square() { return new Square(); }

namespace {
struct Announce {
    Announce() { log_line("static constructor: libcxxthrow"); }
    ~Announce() { log_line("static destructor: libcxxthrow"); }
} announce;
}
