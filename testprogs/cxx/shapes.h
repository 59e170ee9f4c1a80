/* Types shared by the libraries and the program. BaseError, NetError and Shape
 * have their key functions (so their type_info) in libcxxbase.so; Circle's is
 * in libcxxthrow.so; InlineError and Box<T> have none, so every object that
 * uses them carries a weak copy of their type_info. */
#include <functional>
#include <stdexcept>
#include <string>

struct BaseError : std::runtime_error {
    int code;
    BaseError(const std::string &what, int code);
    ~BaseError() override;
    virtual const char *kind() const;
};

struct NetError : BaseError {
    NetError(const std::string &what, int code);
    ~NetError() override;
    const char *kind() const override;
};

struct InlineError {
    std::string msg;
    int n;
};

template <class T> struct Box {
    T v;
    explicit Box(T x) : v(x) {}
    virtual ~Box() {}
};

struct Shape {
    virtual ~Shape();
    virtual std::string name() const = 0;
};

struct Circle : Shape {
    double r;
    explicit Circle(double r);
    ~Circle() override;
    std::string name() const override;
};

struct Square : Shape {
    std::string name() const override { return "square"; }
};

/* libcxxbase.so */
void log_line(const std::string &line);
std::string describe(const std::exception &e);
/* libcxxthrow.so */
void throw_net(int code);
void throw_inline(int n);
void throw_box(int v);
void throw_out_of_range();
void call_through(const std::function<void()> &f);
Shape *make_circle(double r);
Shape *make_square();
/* libcxxcatch.so */
std::string catch_in_lib(int which);
void rethrow_in_lib(int which);
std::string cast_in_lib(Shape *s);
void touch_thread_object(const char *who);
