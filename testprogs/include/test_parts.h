/* The main loop of a glibc test program made of named parts: `PROG NAME`
 * runs one part, `PROG` runs every part in order; an unknown name is an
 * error (status 2). With `headers`, each part starts with `== NAME`. */
#ifndef TEST_PARTS_H
#define TEST_PARTS_H
#include <stdio.h>
#include <string.h>

struct test_part {
    const char *name;
    void (*fn)(void);
};

static int run_parts(int argc, char **argv, const struct test_part *parts, unsigned n, int headers)
{
    int ran = 0;
    for (unsigned i = 0; i < n; i++)
        if (argc < 2 || strcmp(argv[1], parts[i].name) == 0) {
            if (headers)
                printf("== %s\n", parts[i].name);
            parts[i].fn();
            fflush(stdout);
            ran++;
        }
    if (!ran) {
        fprintf(stderr, "unknown test %s\n", argv[1]);
        return 2;
    }
    return 0;
}
#endif
