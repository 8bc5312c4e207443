/*
 * test_idcard_e2e.c — the ID-card driver end to end, in real time: hallq-sim idcard on a pty,
 * opened through the serial HAL (reopened with backoff when it vanishes), driven by the
 * reader state machine. A card is reported once per placement, a truncated answer is read
 * three times and then gives one read error, a read answered SW3 41 is tried again while the
 * card stays, a 2023 foreigner card (Y) reads with its own layout, an unplugged reader goes
 * offline and a replugged one comes back with its card.
 *
 * usage: test_idcard_e2e HALLQ_SIM TESTDATA_DIR
 */
#include "check.h"
#include "idcard.h"
#include "serial.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/hq-idcard-e2e-XXXXXX", link_path[128], fifo[128], data[512];
static struct hq_serial_link serial;
static struct idcard_reader reader;
static int n_card, n_removed, n_error, n_online, n_offline, last_err, last_sw3, last_tries;
static int last_type, last_birth;
static char last_name[IDCARD_NAME_MASKED_MAX];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void control(const char *fmt, const char *arg)
{
    char line[600];
    int n = snprintf(line, sizeof line, fmt, arg);
    int fd = open(fifo, O_WRONLY);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK_EQ_INT(write(fd, line, (size_t)n), n);
    close(fd);
}

static void reset_counts(void)
{
    n_card = n_removed = n_error = n_online = n_offline = 0;
    last_name[0] = 0;
}

/* The daemon's loop for one reader, for ms milliseconds. */
static void run_for(uint64_t ms)
{
    uint64_t end = now_ms() + ms;
    for (uint64_t t = now_ms(); t < end; t = now_ms()) {
        if (hq_serial_link_service(&serial, t) == HQ_OK) {
            uint8_t cmd[IDCARD_CMD_FRAME_LEN];
            size_t n = idcard_reader_step(&reader, t, cmd);
            if (n && hq_serial_write(serial.s, cmd, n, 100)) hq_serial_link_lost(&serial, t);
        } else {
            uint8_t cmd[IDCARD_CMD_FRAME_LEN];
            idcard_reader_step(&reader, t, cmd); /* timers run while the port is away */
        }
        int fd = hq_serial_link_fd(&serial);
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (fd < 0) {
            usleep(20000);
        } else if (poll(&pf, 1, 20) > 0) {
            uint8_t buf[4096];
            size_t got = 0;
            if (hq_serial_read(serial.s, buf, sizeof buf, &got))
                hq_serial_link_lost(&serial, t);
            else
                idcard_reader_input(&reader, buf, got, now_ms());
            explicit_bzero(buf, sizeof buf);
        }
        struct idcard_event ev;
        while (idcard_reader_next_event(&reader, &ev)) {
            switch (ev.type) {
            case IDCARD_EV_CARD:
                n_card++;
                snprintf(last_name, sizeof last_name, "%s", ev.id.name_masked);
                last_type = ev.id.type;
                last_birth = ev.id.birth_ymd;
                break;
            case IDCARD_EV_REMOVED:
                n_removed++;
                break;
            case IDCARD_EV_READ_ERROR:
                n_error++;
                last_err = ev.err;
                last_sw3 = ev.sw3;
                last_tries = ev.tries;
                break;
            case IDCARD_EV_ONLINE:
                n_online++;
                break;
            case IDCARD_EV_OFFLINE:
                n_offline++;
                break;
            }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s HALLQ_SIM TESTDATA_DIR\n", argv[0]);
        return 2;
    }
    hq_log_level = HQ_LOG_ERR;
    signal(SIGPIPE, SIG_IGN);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(link_path, sizeof link_path, "%s/reader", dir);
    snprintf(fifo, sizeof fifo, "%s/ctl", dir);
    snprintf(data, sizeof data, "%s/idcard", argv[2]);
    CHECK_EQ_INT(mkfifo(fifo, 0600), 0);
    char card[600];
    snprintf(card, sizeof card, "%s/resident_elderly.bin", data);

    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        execl(argv[1], argv[1], "idcard", "--pty", link_path, "--control", fifo, "--card", card,
              (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300 && access(link_path, F_OK) != 0; i++)
        usleep(10000);
    CHECK_EQ_INT(access(link_path, F_OK), 0);

    static const uint8_t key[] = "hallq-test-key";
    CHECK_EQ_INT(hq_serial_link_init(&serial, link_path, 115200, 0), HQ_OK);
    idcard_reader_init(&reader, key, sizeof key - 1, false, now_ms());

    /* a card lying on the reader: reported once in 2 s of polling */
    run_for(2000);
    CHECK_EQ_INT(n_online, 1);
    CHECK_EQ_INT(n_card, 1);
    CHECK_EQ_STR(last_name, "王**");
    CHECK(reader.timeouts == 0);

    /* removed and another card placed */
    reset_counts();
    control("remove\n", NULL);
    run_for(800);
    CHECK_EQ_INT(n_removed, 1);
    control("place %s/resident_adult.bin\n", data);
    run_for(1200);
    CHECK_EQ_INT(n_card, 1);
    CHECK_EQ_STR(last_name, "李*");

    /* a 2023 foreigner card (Y), generated by the simulator to its own layout */
    reset_counts();
    control("remove\n", NULL);
    run_for(800);
    control("generate %s\n", "玛丽亚,19560820,,Y");
    run_for(1200);
    CHECK_EQ_INT(n_card, 1);
    CHECK_EQ_STR(last_name, "玛**");
    CHECK_EQ_INT(last_type, IDCARD_TYPE_FOREIGNER_Y);
    CHECK_EQ_INT(last_birth, 19560820);

    /* SW3 41 twice, then a good read: the card, no error, while it stays on the reader */
    reset_counts();
    control("remove\n", NULL);
    run_for(800);
    control("readfail %s\n", "2");
    control("place %s/resident_adult.bin\n", data);
    run_for(3500);
    CHECK_EQ_INT(n_error, 0);
    CHECK_EQ_INT(n_card, 1);
    CHECK_EQ_STR(last_name, "李*");
    /* SW3 41 three times: one read error after three reads, then nothing while it stays */
    reset_counts();
    control("remove\n", NULL);
    run_for(800);
    control("readfail %s\n", "5");
    control("place %s/resident_adult.bin\n", data);
    run_for(5000);
    CHECK_EQ_INT(n_card, 0);
    CHECK_EQ_INT(n_error, 1);
    CHECK_EQ_INT(last_sw3, 0x41);
    CHECK_EQ_INT(last_tries, IDCARD_READ_TRIES);
    control("readfail %s\n", "0");

    /* a reader that truncates its answer: three reads, then one read error (timeout) */
    reset_counts();
    control("remove\n", NULL);
    run_for(800);
    control("fault truncate\n", NULL);
    control("place %s/resident_elderly.bin\n", data);
    run_for(6500);
    CHECK_EQ_INT(n_card, 0);
    CHECK_EQ_INT(n_error, 1);
    CHECK_EQ_INT(last_err, HQ_ERR_TIMEOUT);
    control("fault none\n", NULL);
    control("remove\n", NULL);
    run_for(800);
    control("place %s/resident_elderly.bin\n", data);
    run_for(1200);
    CHECK_EQ_INT(n_card, 1);

    /* a bad checksum card file is never reported as a card */
    reset_counts();
    control("remove\n", NULL);
    run_for(800);
    control("place %s/bad_checksum.bin\n", data);
    run_for(6500);
    CHECK_EQ_INT(n_card, 0);
    CHECK_EQ_INT(n_error, 1);
    CHECK(reader.lx.bad_checksum >= 1);

    /* unplugged: the port goes away, the reader goes offline after 3 s; plugged back with a
     * card on it: online again and the card is reported (a new placement) */
    reset_counts();
    control("place %s/resident_adult.bin\n", data);
    control("fault off\n", NULL);
    run_for(3600);
    CHECK_EQ_INT(n_offline, 1);
    CHECK_EQ_INT(hq_serial_link_fd(&serial), -1);
    control("fault none\n", NULL);
    run_for(6000); /* the reopen backoff has grown to 4 s by now */
    CHECK_EQ_INT(n_online, 1);
    CHECK_EQ_INT(n_card, 1);
    CHECK_EQ_STR(last_name, "李*");

    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    hq_serial_link_close(&serial);
    idcard_reader_free(&reader);
    unlink(fifo);
    unlink(link_path);
    rmdir(dir);
    return check_report("test_idcard_e2e");
}
