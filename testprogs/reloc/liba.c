/* A library with each kind of dynamic relocation against its own symbols, a
 * dependency's and the executable's. */
#include "nolibc.h"
#include "relr.h"

extern int b_data;
extern int b_func(int);
extern int exe_data; /* defined by the executable */

int a_data = 100;                           /* the executable has a COPY */
int a_array[6] = {11, 22, 33, 44, 55, 66};  /* likewise, initialised */
int a_func(int x) { return 3 * x + 1; }
static int a_local = 7;
static int a_local_fn(int x) { return x - 1; }

/* R_X86_64_64 against exported symbols, RELATIVE for the local ones. */
void *a_ptrs[8] = {&a_data, &a_array[2], (void *)a_func, &b_data,
                   (void *)b_func, &a_local, (void *)a_local_fn, &exe_data};

void **a_table(void) { return a_ptrs; }
int *a_got_data(void) { return &a_data; }   /* GLOB_DAT */
int *a_got_array(void) { return a_array; }  /* GLOB_DAT */
int *a_got_b(void) { return &b_data; }      /* GLOB_DAT, another object */
int *a_got_exe(void) { return &exe_data; }  /* GLOB_DAT, the executable */
int a_call_b(int x) { return b_func(x); }   /* JUMP_SLOT */
int a_call_self(int x) { return a_func(x); } /* JUMP_SLOT, own symbol */
int a_read_data(void) { return a_data; }
void a_write_array(int i, int v) { a_array[i] = v; }
int a_relr_bad(void) { return relr_bad(); }
