/* What secure mode changes, as the program sees it: which copy of libsec.so
 * was found (through $ORIGIN, LD_LIBRARY_PATH or the absolute run path),
 * whether LD_PRELOAD's object ran, and which variables reached it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sec_who(void);

int main(void) {
    printf("libsec: %s\n", sec_who());
    const char *vars[] = {"LD_LIBRARY_PATH", "LD_PRELOAD", "LD_AUDIT", "TMPDIR", "SHIMLD_DEBUG", "GCONV_PATH", "KEPT"};
    for (unsigned i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        printf("%s=%s\n", vars[i], v ? v : "(unset)");
    }
    /* Secure mode filters GLIBC_TUNABLES (CVE-2023-4911 came from parsing
       it): only its length is printed. */
    const char *t = getenv("GLIBC_TUNABLES");
    printf("GLIBC_TUNABLES length %zu\n", t ? strlen(t) : (size_t)0);
    return 0;
}
