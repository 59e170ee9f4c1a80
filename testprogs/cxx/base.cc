/* libcxxbase.so: the key functions of the shared exception and shape types,
 * a static object, and the log that other objects write to. */
#include <cstdio>
#include <string>
#include <typeinfo>
#include "shapes.h"

void log_line(const std::string &line)
{
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

BaseError::BaseError(const std::string &what, int c) : std::runtime_error(what), code(c) {}
BaseError::~BaseError() {}
const char *BaseError::kind() const { return "base"; }
NetError::NetError(const std::string &what, int c) : BaseError(what, c) {}
NetError::~NetError() {}
const char *NetError::kind() const { return "net"; }
Shape::~Shape() {}

std::string describe(const std::exception &e)
{
    std::string s = typeid(e).name();
    s += ": ";
    s += e.what();
    if (auto *b = dynamic_cast<const BaseError *>(&e))
        s += " (kind " + std::string(b->kind()) + ", code " + std::to_string(b->code) + ")";
    return s;
}

namespace {
struct Announce {
    Announce() { log_line("static constructor: libcxxbase"); }
    ~Announce() { log_line("static destructor: libcxxbase"); }
} announce;
}
