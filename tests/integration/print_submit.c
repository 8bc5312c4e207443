/*
 * print_submit.c — drive hal/print_cups through its worker, as hallqd does,
 * for the printing integration tests. One request per run (or the same
 * ticket to more queues with --also, in that order, tags 42, 43, ...); each result
 * comes back through the eventfd and is printed as one JSON line, as it arrives:
 *   print-submit --server SOCK --queue Q --file TICKET.bin [--timeout MS] [--also Q2]...
 *   print-submit --server SOCK --queue Q --printer-status
 *   print-submit --link tcp://HOST:PORT [--timeout MS]
 */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hq.h"
#include "print_cups.h"

/* Quotes and backslashes out of free text, so the line stays JSON. */
static const char *clean(char *s)
{
    for (char *p = s; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = '\'';
    return s;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, 0, 's'}, {"queue", required_argument, 0, 'q'},
        {"file", required_argument, 0, 'f'},   {"timeout", required_argument, 0, 't'},
        {"link", required_argument, 0, 'l'},   {"printer-status", no_argument, 0, 'p'},
        {"also", required_argument, 0, 'a'},   {0, 0, 0, 0},
    };
    const char *server = NULL, *queue = NULL, *file = NULL, *link = NULL;
    uint32_t timeout = 20000;
    int printer = 0, c, n_also = 0;
    const char *also[8];
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            server = optarg;
            break;
        case 'q':
            queue = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 't':
            timeout = (uint32_t)atoi(optarg);
            break;
        case 'l':
            link = optarg;
            break;
        case 'p':
            printer = 1;
            break;
        case 'a':
            if (n_also == 8) return 2;
            also[n_also++] = optarg;
            break;
        default:
            return 2;
        }
    }
    struct print_cups *p = print_cups_new(server);
    if (!p) return 1;
    int rc;
    if (file) {
        static char buf[1 << 16];
        FILE *f = fopen(file, "rb");
        if (!f) return 1;
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        rc = print_cups_submit(p, 42, queue, buf, n, timeout);
        for (int i = 0; !rc && i < n_also; i++)
            rc = print_cups_submit(p, 43 + (uint64_t)i, also[i], buf, n, timeout);
    } else if (printer) {
        rc = print_cups_query_printer(p, 42, queue);
    } else if (link) {
        rc = print_cups_query_link(p, 42, link, timeout);
    } else {
        return 2;
    }
    if (rc) return 1;
    struct print_result r;
    struct pollfd pf = {print_cups_fd(p), POLLIN, 0};
    for (int left = 1 + n_also; left > 0; left--) {
        while (print_cups_result(p, &r) == HQ_ERR_EMPTY)
            if (poll(&pf, 1, 120000) != 1) return 1;
        printf("{\"tag\": %llu, \"err\": \"%s\", \"job_id\": %d, \"health\": \"%s\", "
               "\"detail\": \"%s\", \"state\": %d, \"accepting\": %s, \"reasons\": \"%s\", "
               "\"answered\": %s}\n",
               (unsigned long long)r.tag, hq_strerror(r.err), r.job_id, print_health_name(r.health),
               clean(r.detail), r.printer.state, r.printer.accepting ? "true" : "false",
               clean(r.printer.reasons), r.link.answered ? "true" : "false");
        fflush(stdout);
    }
    print_cups_free(p);
    return 0;
}
