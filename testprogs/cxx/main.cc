/* C++ across shared libraries: exceptions thrown in libcxxthrow.so and caught
 * in libcxxcatch.so and here, through callbacks and std::thread, with
 * std::exception_ptr; typeid and dynamic_cast on objects made elsewhere;
 * static constructors and destructors; iostream; thread_local destructors.
 * `cxx terminate` lets an exception escape a thread. */
#include <cstring>
#include <cxxabi.h>
#include <exception>
#include <iostream>
#include <sstream>
#include <thread>
#include <typeinfo>
#include <vector>
#include "shapes.h"

namespace {
struct Announce {
    Announce() { log_line("static constructor: program"); }
    ~Announce() { log_line("static destructor: program"); }
} announce;
}

static void catch_here(int which)
{
    try {
        switch (which) {
        case 0: throw_net(17); break;
        case 1: throw_inline(18); break;
        case 2: throw_box(19); break;
        case 3: throw_out_of_range(); break;
        }
        std::cout << "program: nothing thrown" << std::endl;
    } catch (const NetError &e) {
        std::cout << "program caught NetError&: " << describe(e) << std::endl;
    } catch (const InlineError &e) {
        std::cout << "program caught InlineError: " << e.msg << " " << e.n << std::endl;
    } catch (const Box<int> &b) {
        std::cout << "program caught Box<int>: " << b.v << std::endl;
    } catch (const std::out_of_range &e) {
        std::cout << "program caught std::out_of_range" << std::endl;
    } catch (...) {
        std::cout << "program caught (...)" << std::endl;
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && std::strcmp(argv[1], "terminate") == 0) {
        std::thread t([] { throw_net(99); });
        t.join();
        return 0;
    }

    for (int i = 0; i < 4; i++)
        std::cout << catch_in_lib(i) << std::endl;
    for (int i = 0; i < 4; i++)
        catch_here(i);

    for (int i = 0; i < 2; i++) {
        try {
            rethrow_in_lib(i);
        } catch (const BaseError &e) {
            std::cout << "program caught rethrown BaseError: " << e.what() << std::endl;
        } catch (const InlineError &e) {
            std::cout << "program caught rethrown InlineError: " << e.n << std::endl;
        }
    }

    try {
        call_through([] { throw std::runtime_error("from a lambda in the program"); });
    } catch (const std::runtime_error &e) {
        std::cout << "program caught through libcxxthrow's frames: " << e.what() << std::endl;
    }

    /* Exceptions thrown in threads, carried back with std::exception_ptr. */
    std::vector<std::exception_ptr> errors(4);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; i++)
        threads.emplace_back([i, &errors] {
            try {
                if (i == 0) throw_net(100 + i);
                if (i == 1) throw_inline(100 + i);
                if (i == 2) throw_box(100 + i);
                rethrow_in_lib(0);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        });
    for (auto &t : threads)
        t.join();
    for (int i = 0; i < 4; i++) {
        try {
            std::rethrow_exception(errors[i]);
        } catch (const BaseError &e) {
            std::cout << "thread " << i << " rethrown here: " << describe(e) << std::endl;
        } catch (const InlineError &e) {
            std::cout << "thread " << i << " rethrown here: InlineError " << e.n << std::endl;
        } catch (const Box<int> &b) {
            std::cout << "thread " << i << " rethrown here: Box<int> " << b.v << std::endl;
        }
    }
    std::exception_ptr none;
    std::cout << "empty exception_ptr is null: " << (none == nullptr ? "yes" : "no") << std::endl;

    /* typeid and dynamic_cast across the library boundary. */
    Shape *c = make_circle(3), *s = make_square();
    std::cout << "program: " << c->name() << "; typeid " << typeid(*c).name()
              << (typeid(*c) == typeid(Circle) ? ", is Circle" : ", not Circle") << std::endl;
    std::cout << "program: dynamic_cast<Circle*>(circle) "
              << (dynamic_cast<Circle *>(c) ? "ok" : "null") << ", dynamic_cast<Circle*>(square) "
              << (dynamic_cast<Circle *>(s) ? "ok" : "null") << ", dynamic_cast<Square*>(square) "
              << (dynamic_cast<Square *>(s) ? "ok" : "null") << std::endl;
    std::cout << "libcxxcatch on circle: " << cast_in_lib(c) << std::endl;
    std::cout << "libcxxcatch on square: " << cast_in_lib(s) << std::endl;
    /* The weak type_info copies must be one object after symbol resolution. */
    for (int i = 0; i < 2; i++) {
        try {
            i ? throw_inline(1) : throw_box(1);
        } catch (...) {
            const std::type_info *t = abi::__cxa_current_exception_type();
            const std::type_info &here = i ? typeid(InlineError) : typeid(Box<int>);
            std::cout << "thrown " << t->name() << ": same type_info object as here: "
                      << (t == &here ? "yes" : "no") << ", equal: " << (*t == here ? "yes" : "no") << std::endl;
        }
    }
    delete c;
    delete s;

    /* std::string and iostreams. */
    std::ostringstream os;
    os << "pi is about " << 3.14159 << ", hex " << std::hex << 255 << std::dec << ", " << std::string(3, '*');
    std::string text = os.str();
    std::cout << text << " (" << text.size() << " chars)" << std::endl;
    std::istringstream is("10 20 30");
    int a, b, d;
    is >> a >> b >> d;
    std::cout << "sum " << a + b + d << std::endl;
    std::cerr << "to stderr via std::cerr" << std::endl;

    /* thread_local destructors in libcxxcatch.so. */
    std::thread t([] { touch_thread_object("worker thread"); });
    t.join();
    touch_thread_object("main thread");
    std::cout << "main returns 0" << std::endl;
    return 0;
}
