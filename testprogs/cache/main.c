/* Prints what libcache.so says, through libuse.so's data relocations and
 * through this program's own COPY relocation of `data`; prints libc's
 * `optind`, which the program copies from the glibc core (the handover
 * hands that COPY relocation to ld.so, and the resolution cache keeps that
 * it does); and reports an error, whose program name libuse.so prints (it
 * interposes libc's error_print_progname). */
#include <error.h>
#include <stdio.h>
#include <unistd.h>

extern int data;
void use_print(void);

int main(void) {
    use_print();
    printf("copied data %d\n", data);
    printf("optind %d\n", optind);
    error(0, 0, "an error reported");
    return 0;
}
