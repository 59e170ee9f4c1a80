/* Prints what libcache.so says, through libuse.so's data relocations and
 * through this program's own COPY relocation of `data`. */
#include <stdio.h>

extern int data;
void use_print(void);

int main(void) {
    use_print();
    printf("copied data %d\n", data);
    return 0;
}
