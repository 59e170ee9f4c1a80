/* A program that replaces malloc: a bump allocator over a static arena that
 * counts its calls. glibc's own allocations (strdup, stdio buffers, fopen's
 * FILE, qsort's scratch, getline, asprintf, a new thread's DTV...) must come here, and free must receive only our pointers. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARENA (64 << 20)
static _Alignas(64) unsigned char arena[ARENA];
static size_t used;
static unsigned long n_malloc, n_free, n_calloc, n_realloc, n_memalign, n_foreign_free;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct header {
    size_t size;
    size_t magic;
};
#define MAGIC 0x5eed5eedUL

static void *bump(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    pthread_mutex_lock(&lock);
    uintptr_t base = (uintptr_t)arena;
    size_t start = ((base + used + sizeof(struct header) + align - 1) & ~(uintptr_t)(align - 1)) - base;
    if (start + size > ARENA) {
        pthread_mutex_unlock(&lock);
        errno = ENOMEM;
        return NULL;
    }
    used = start + size;
    struct header *h = (struct header *)(arena + start) - 1;
    h->size = size;
    h->magic = MAGIC;
    pthread_mutex_unlock(&lock);
    return arena + start;
}

static int ours(void *p) { return (unsigned char *)p >= arena && (unsigned char *)p < arena + ARENA; }

void *malloc(size_t size)
{
    __atomic_add_fetch(&n_malloc, 1, __ATOMIC_RELAXED);
    return bump(size, 16);
}
void free(void *p)
{
    if (!p)
        return;
    __atomic_add_fetch(&n_free, 1, __ATOMIC_RELAXED);
    if (!ours(p) || ((struct header *)p)[-1].magic != MAGIC)
        __atomic_add_fetch(&n_foreign_free, 1, __ATOMIC_RELAXED);
}
void *calloc(size_t n, size_t size)
{
    __atomic_add_fetch(&n_calloc, 1, __ATOMIC_RELAXED);
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return bump(n * size, 16); /* the arena is never reused: still zero */
}
void *realloc(void *p, size_t size)
{
    __atomic_add_fetch(&n_realloc, 1, __ATOMIC_RELAXED);
    void *q = bump(size, 16);
    if (p && q) {
        size_t old = ours(p) ? ((struct header *)p)[-1].size : 0;
        memcpy(q, p, old < size ? old : size);
    }
    return q;
}
void *memalign(size_t align, size_t size)
{
    __atomic_add_fetch(&n_memalign, 1, __ATOMIC_RELAXED);
    return bump(size, align);
}
void *aligned_alloc(size_t align, size_t size) { return memalign(align, size); }
int posix_memalign(void **out, size_t align, size_t size)
{
    void *p = memalign(align, size);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
void *valloc(size_t size) { return memalign(4096, size); }
void *pvalloc(size_t size) { return memalign(4096, (size + 4095) & ~4095UL); }
size_t malloc_usable_size(void *p) { return p && ours(p) ? ((struct header *)p)[-1].size : 0; }

static unsigned long snap[6];
static void take(void)
{
    snap[0] = n_malloc, snap[1] = n_free, snap[2] = n_calloc, snap[3] = n_realloc, snap[4] = n_memalign;
    snap[5] = used;
}
/* Whether anything was allocated (by any entry point) since take(). */
static void moved(const char *what)
{
    int alloc = n_malloc != snap[0] || n_calloc != snap[2] || n_realloc != snap[3] || n_memalign != snap[4];
    printf("%s: allocated through ours: %s, arena grew: %s\n", what, alloc ? "yes" : "no",
           used > snap[5] ? "yes" : "no");
}
static void freed(const char *what) { printf("%s: free called: %s\n", what, n_free != snap[1] ? "yes" : "no"); }

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static void *thread_fn(void *arg) { return arg; }

int main(void)
{
    /* stdout's buffer is allocated on first use. */
    take();
    printf("first printf\n");
    moved("stdout buffer");

    take();
    char *s = strdup("a string duplicated by libc");
    moved("strdup");
    printf("strdup result in our arena: %s\n", ours(s) ? "yes" : "no");
    take();
    free(s);
    freed("free(strdup result)");

    take();
    char *big = NULL;
    int n = asprintf(&big, "%0*d", 100000, 7);
    moved("asprintf of 100000 chars");
    printf("asprintf length %d, in our arena: %s\n", n, ours(big) ? "yes" : "no");
    free(big);

    take();
    FILE *f = fopen("/proc/self/status", "r");
    moved("fopen");
    char *line = NULL;
    size_t cap = 0;
    take();
    ssize_t len = getline(&line, &cap, f);
    moved("getline");
    printf("getline read a line: %s, buffer ours: %s\n", len > 0 ? "yes" : "no", ours(line) ? "yes" : "no");
    take();
    fclose(f);
    freed("fclose");
    free(line);

    int nums[2000];
    for (int i = 0; i < 2000; i++)
        nums[i] = (i * 7919) % 2000;
    take();
    qsort(nums, 2000, sizeof nums[0], cmp);
    moved("qsort of 8000 bytes");
    printf("qsort sorted: %s\n", nums[0] == 0 && nums[1999] == 1999 ? "yes" : "no");

    take();
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, thread_fn, (void *)42);
    pthread_join(t, &ret);
    moved("pthread_create");
    printf("thread returned %ld\n", (long)ret);

    take();
    void *al = aligned_alloc(4096, 100);
    printf("aligned_alloc aligned: %s, in our arena: %s\n", ((uintptr_t)al & 4095) == 0 ? "yes" : "no",
           ours(al) ? "yes" : "no");

    take();
    char *cwd = getcwd(NULL, 0);
    moved("getcwd(NULL, 0)");
    printf("getcwd buffer ours: %s\n", cwd && ours(cwd) ? "yes" : "no");
    free(cwd);

    /* dlopen's error path in a program with its own malloc (whether it
     * allocates is its own business). */
    void *h = dlopen("libnonexistent-allocators.so", RTLD_NOW);
    const char *err = dlerror();
    printf("dlopen failed: %s, message says so: %s\n", h ? "no" : "yes",
           err && strstr(err, "cannot open shared object file") ? "yes" : "no");

    printf("free of a pointer that is not ours: %lu\n", n_foreign_free);
    printf("libc never allocated behind our back: %s\n", n_foreign_free == 0 ? "yes" : "no");
    return 0;
}
