/* A program for the limits tests: it only needs its libraries loaded. */
#define NOLIBC_MAIN
#include "nolibc.h"

int main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    put_line("loaded");
    return 0;
}
