/* A dependency of liba: data and a function another library refers to. */
#include "nolibc.h"

int b_data = 200;
int b_array[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* 36 bytes, for SIZE relocations */
int b_func(int x) { return x + 1000; }
/* The address of b_data without a COPY of it in the caller. */
int *b_addr(void) { return &b_data; }
