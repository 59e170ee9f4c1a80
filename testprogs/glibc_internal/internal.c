/* glibc paths that load code or data of their own at run time:
 *   backtrace   backtrace() (loads libgcc_s) and backtrace_symbols_fd
 *   exit        pthread_exit (unwinding through libgcc_s)
 *   cancel      pthread_cancel of threads blocked in pause and sleep
 *   nss         getpwuid, getgrgid, getpwnam of a missing user (tries every
 *               module in nsswitch.conf), getprotobyname, gethostbyname
 *   iconv       iconv to UTF-16 (built in) and ISO-8859-15 (a gconv module)
 *   locale      setlocale C.UTF-8 (locale archive or files), strerror,
 *               strftime, mbrtowc
 * With no argument, runs them all. */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <grp.h>
#include <iconv.h>
#include <langinfo.h>
#include <locale.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include "test_parts.h"

int bt_lib_frame(int (*cb)(int), int depth);

/* ---- backtrace ---- */
static int frames_total = -1;
static char symbols[8192];

__attribute__((noinline)) static int take_backtrace(void)
{
    void *buf[64];
    int n = backtrace(buf, 64);
    frames_total = n;
    /* backtrace_symbols_fd writes lines like "./prog(fn+0x12) [0x...]"; keep
     * the function names only. */
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    backtrace_symbols_fd(buf, n, fds[1]);
    close(fds[1]);
    ssize_t got, len = 0;
    while ((got = read(fds[0], symbols + len, sizeof symbols - 1 - len)) > 0)
        len += got;
    symbols[len] = 0;
    close(fds[0]);
    return n;
}

__attribute__((noinline)) int bt_callback(int depth)
{
    int r = take_backtrace();
    __asm__ volatile("" ::: "memory");
    return r + depth;
}

__attribute__((noinline)) int bt_outer(void)
{
    int r = bt_lib_frame(bt_callback, 0);
    __asm__ volatile("" ::: "memory");
    return r;
}

static void test_backtrace(void)
{
    bt_outer();
    printf("backtrace: more than 5 frames: %s\n", frames_total > 5 ? "yes" : "no");
    /* The names between '(' and '+' in order, of our functions and main. */
    printf("backtrace: named frames:");
    int lines = 0;
    for (char *line = strtok(symbols, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        char *open = strchr(line, '('), *plus = open ? strchr(open, '+') : NULL;
        if (!open || !plus || plus == open + 1)
            continue;
        *plus = 0;
        const char *name = open + 1;
        if (strncmp(name, "bt_", 3) == 0 || strcmp(name, "main") == 0)
            printf(" %s", name);
    }
    printf("\nbacktrace: one line per frame: %s\n", lines == frames_total ? "yes" : "no");
}

/* ---- pthread_exit ---- */
static int cleanup_runs;
static void cleanup(void *arg)
{
    printf("cleanup handler: %s\n", (const char *)arg);
    cleanup_runs++;
}

static void *exiting_thread(void *arg)
{
    pthread_cleanup_push(cleanup, "pthread_exit");
    pthread_exit((void *)((long)arg * 2));
    pthread_cleanup_pop(0);
    return NULL;
}

static void test_exit(void)
{
    pthread_t t;
    void *ret;
    pthread_create(&t, NULL, exiting_thread, (void *)21);
    pthread_join(t, &ret);
    printf("pthread_exit value: %ld\n", (long)ret);
}

/* ---- pthread_cancel ---- */
static pthread_barrier_t ready;
static void *pausing_thread(void *arg)
{
    pthread_cleanup_push(cleanup, arg);
    pthread_barrier_wait(&ready);
    if (strcmp(arg, "pause") == 0)
        pause();
    else
        sleep(100);
    pthread_cleanup_pop(0);
    return NULL;
}

static void test_cancel(void)
{
    const char *kinds[] = { "pause", "sleep" };
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        void *ret;
        pthread_barrier_init(&ready, NULL, 2);
        pthread_create(&t, NULL, pausing_thread, (void *)kinds[i]);
        pthread_barrier_wait(&ready);
        pthread_cancel(t);
        pthread_join(t, &ret);
        printf("cancelled thread in %s: %s\n", kinds[i], ret == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "other");
        pthread_barrier_destroy(&ready);
    }
    printf("cleanup handlers run: %d\n", cleanup_runs);
}

/* ---- NSS ---- */
static void test_nss(void)
{
    struct passwd *pw = getpwuid(0);
    printf("getpwuid(0): %s %s\n", pw ? pw->pw_name : "(null)", pw ? pw->pw_dir : "");
    struct group *gr = getgrgid(0);
    printf("getgrgid(0): %s\n", gr ? gr->gr_name : "(null)");
    pw = getpwnam("root");
    printf("getpwnam(root): uid %d\n", pw ? (int)pw->pw_uid : -1);
    errno = 0;
    pw = getpwnam("no-such-user-shimld");
    printf("getpwnam(no-such-user-shimld): %s\n", pw ? "found" : "not found");
    struct protoent *pe = getprotobyname("tcp");
    printf("getprotobyname(tcp): %d\n", pe ? pe->p_proto : -1);
    struct hostent *he = gethostbyname("localhost");
    if (he && he->h_addrtype == AF_INET && he->h_addr_list[0]) {
        unsigned char *a = (unsigned char *)he->h_addr_list[0];
        printf("gethostbyname(localhost): %u.%u.%u.%u\n", a[0], a[1], a[2], a[3]);
    } else
        printf("gethostbyname(localhost): failed\n");
}

/* ---- iconv ---- */
static void convert(const char *to, const char *from, const char *text)
{
    iconv_t cd = iconv_open(to, from);
    if (cd == (iconv_t)-1) {
        printf("iconv_open(%s, %s): %s\n", to, from, strerror(errno));
        return;
    }
    char out[64], *in = (char *)text, *o = out;
    size_t inleft = strlen(text), outleft = sizeof out;
    size_t r = iconv(cd, &in, &inleft, &o, &outleft);
    printf("iconv %s -> %s: %s,", from, to, r == (size_t)-1 ? strerror(errno) : "ok");
    for (char *p = out; p < o; p++)
        printf(" %02x", (unsigned char)*p);
    printf("\n");
    iconv_close(cd);
}

static void test_iconv(void)
{
    convert("UTF-16", "UTF-8", "h\xc3\xa9!");               /* hé! */
    convert("ISO-8859-15", "UTF-8", "\xe2\x82\xac\xc5\x93"); /* €œ */
    convert("UTF-8", "ISO-8859-15", "\xa4\xbd");
    convert("EBCDIC-US", "UTF-8", "AZ");
    convert("NO-SUCH-CHARSET", "UTF-8", "x");
}

/* ---- locale ---- */
static void test_locale(void)
{
    const char *l = setlocale(LC_ALL, "C.UTF-8");
    printf("setlocale(LC_ALL, C.UTF-8): %s\n", l ? l : "(null)");
    printf("nl_langinfo(CODESET): %s\n", nl_langinfo(CODESET));
    printf("strerror(ENOENT): %s\n", strerror(ENOENT));
    printf("strerror(EACCES): %s\n", strerror(EACCES));
    struct tm tm = { .tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_hour = 13, .tm_min = 45, .tm_sec = 7 };
    time_t t = timegm(&tm);
    struct tm g;
    gmtime_r(&t, &g);
    char buf[128];
    strftime(buf, sizeof buf, "%A %d %B %Y %H:%M:%S %j %c", &g);
    printf("strftime: %s\n", buf);
    mbstate_t st = { 0 };
    wchar_t wc;
    size_t n = mbrtowc(&wc, "\xe2\x82\xac", 3, &st);
    printf("mbrtowc(euro): %zu bytes, U+%04X\n", n, (unsigned)wc);
    printf("MB_CUR_MAX: %zu\n", MB_CUR_MAX);
    l = setlocale(LC_ALL, "xx_NO.SUCH");
    printf("setlocale(LC_ALL, xx_NO.SUCH): %s\n", l ? l : "(null)");
}

int main(int argc, char **argv)
{
    const struct test_part tests[] = { { "backtrace", test_backtrace }, { "exit", test_exit },   { "cancel", test_cancel },
                  { "nss", test_nss },             { "iconv", test_iconv }, { "locale", test_locale } };
    return run_parts(argc, argv, tests, sizeof tests / sizeof *tests, 0);
}
