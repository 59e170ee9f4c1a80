#include <stdio.h>
#include <string.h>

/* The protection of the page holding `p`, from /proc/self/maps. */
static const char *prot(const void *p) {
    static char perms[8][8];
    static int n;
    char line[512], *r = perms[n++ % 8];
    unsigned long lo, hi, a = (unsigned long)p;
    FILE *f = fopen("/proc/self/maps", "r");
    strcpy(r, "?");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, r) == 3 && lo <= a && a < hi)
            break;
    if (f)
        fclose(f);
    return r;
}
