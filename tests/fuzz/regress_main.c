/*
 * regress_main.c — replays stored fuzz inputs in the ordinary build (gcc, no libFuzzer), so
 * every change is checked against the corpus and against each crash ever found.
 *
 *   fuzz_regress_<target> DIR...   runs LLVMFuzzerTestOneInput on every file in each DIR
 *
 * A directory that does not exist is skipped (a target may have no crash kept yet), but at
 * least one input must run: an empty replay would pass without checking anything.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    struct stat sb;
    if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return 0;
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

int main(int argc, char **argv)
{
    int ran = 0;
    for (int i = 1; i < argc; i++) {
        DIR *dir = opendir(argv[i]);
        if (!dir) {
            struct stat sb;
            if (stat(argv[i], &sb) == 0 && S_ISREG(sb.st_mode) && run_file(argv[i]) > 0) ran++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (e->d_name[0] == '.') continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            int rc = run_file(path);
            if (rc < 0) {
                fprintf(stderr, "%s: cannot read\n", path);
                closedir(dir);
                return 1;
            }
            ran += rc;
        }
        closedir(dir);
    }
    printf("%d inputs replayed without a fault\n", ran);
    return ran > 0 ? 0 : 1;
}
