/* The program the malformed variants are made from: it needs libmal.so
 * (found through $ORIGIN), calls into it, reads its data and its TLS. */
#define NOLIBC_MAIN
#include "nolibc.h"

int mal_value(void);
extern int mal_data;
extern __thread int mal_tls;

__attribute__((constructor)) static void ctor(void) { put_line("exe ctor"); }

int main(int argc, char **argv, char **envp) {
    (void)argc, (void)argv, (void)envp;
    put_kv("value", mal_value());
    put_kv("data", mal_data);
    put_kv("tls", mal_tls);
    return 0;
}
