/* The library the malformed variants are made from: a versioned function,
 * data, thread-local data, a constructor and a destructor, so that every
 * table the loader reads is present. */
#include "nolibc.h"

int mal_data = 42;
__thread int mal_tls = 7;

int mal_value(void) { return 5 + mal_tls; }

__attribute__((constructor)) static void ctor(void) { put_line("lib ctor"); }
__attribute__((destructor)) static void dtor(void) { put_line("lib dtor"); }
