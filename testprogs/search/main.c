/* Prints argv[0] and what CALL() returns: the directory its library was
 * loaded from (see where.c). */
#define NOLIBC_MAIN
#include "nolibc.h"

const char *CALL(void);
#define STR2(x) #x
#define STR(x) STR2(x)

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)envp;
    put_str("argv[0]="), put_line(argv[0]);
    put_str(STR(CALL) "()="), put_line(CALL());
    return 0;
}
