/* A library with a thread_local object: its destructor is registered with
 * __cxa_thread_atexit_impl and the library's __dso_handle. */
#include "tracker.h"

thread_local Tracker lib_obj("lib_obj");

void lib_touch(void) { lib_obj.touch(); }
