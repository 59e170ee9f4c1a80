/* libdlwrap.so, the program's first DT_NEEDED: wraps target_fn (defined
 * again in libdlreal.so) and libc's getenv, each calling the next
 * definition found through RTLD_NEXT. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

const char *target_fn(void)
{
    static char buf[100];
    const char *(*next)(void) = (const char *(*)(void))dlsym(RTLD_NEXT, "target_fn");
    snprintf(buf, sizeof buf, "wrap(%s)", next ? next() : "no next");
    return buf;
}

char *getenv(const char *name)
{
    if (strcmp(name, "DL_WRAPPED") == 0)
        return "from the wrapper";
    char *(*next)(const char *) = (char *(*)(const char *))dlsym(RTLD_NEXT, "getenv");
    return next ? next(name) : NULL;
}

/* RTLD_NEXT from here for a symbol only the program defines: nothing after
 * this library defines it. */
void *next_of_exported(void) { return dlsym(RTLD_NEXT, "exported_fn"); }
