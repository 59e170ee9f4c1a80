/* A position-dependent program that takes malloc's and free's addresses:
 * its PLT entries then stand for those functions (undefined symbols with a
 * value), and the glibc core's own references to them bind there. The
 * resolution cache keeps that they do, so that a cached start-up hands
 * them to ld.so without reading libc's tables. */
#include <stdio.h>
#include <stdlib.h>

void use_print(void);

void *(*volatile get)(size_t) = malloc;
void (*volatile put)(void *) = free;

int main(void) {
    use_print();
    void *p = get(10);
    put(p);
    printf("the program's malloc is libc's: %s\n", get == malloc ? "yes" : "no");
    return 0;
}
