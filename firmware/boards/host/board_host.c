/* The host "board": the firmware as a Linux process, its serial link a pseudo-terminal (default;
 * the slave path is printed as "PTY /dev/pts/N") or stdin/stdout (--stdio). Fast protocol tests,
 * and sanitizer builds of the same frame parser and command handler that the boards run. */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../src/board.h"

const char board_name[] = "host";
const uint32_t board_ram_bytes = 0;

static int in_fd = 0, out_fd = 1, slave_fd = -1;
static uint32_t boots = 1;
static uint8_t inbuf[4096];
static size_t in_pos, in_len;

int fw_host_main(int argc, char **argv);

int fw_host_main(int argc, char **argv)
{
    int i, use_stdio = 0;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--stdio") == 0) {
            use_stdio = 1;
        } else {
            fprintf(stderr, "usage: %s [--stdio]\n", argv[0]);
            return 2;
        }
    }
    if (!use_stdio) {
        struct termios t;
        int m = posix_openpt(O_RDWR | O_NOCTTY);
        const char *name;
        if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || (name = ptsname(m)) == NULL) {
            perror("pty");
            return 1;
        }
        /* Keep the slave open (raw) so the master never sees a hang-up between clients. */
        slave_fd = open(name, O_RDWR | O_NOCTTY);
        if (slave_fd < 0 || tcgetattr(slave_fd, &t) != 0) {
            perror("pty slave");
            return 1;
        }
        cfmakeraw(&t);
        tcsetattr(slave_fd, TCSANOW, &t);
        printf("PTY %s\n", name);
        fflush(stdout);
        in_fd = out_fd = m;
    }
    return 0;
}

void board_init(void)
{
}

uint8_t board_getc(void)
{
    if (in_pos == in_len) {
        ssize_t n = read(in_fd, inbuf, sizeof inbuf);
        if (n <= 0) {
            exit(0); /* the link closed */
        }
        in_len = (size_t)n;
        in_pos = 0;
    }
    return inbuf[in_pos++];
}

void board_write(const uint8_t *data, size_t n)
{
    while (n > 0) {
        ssize_t k = write(out_fd, data, n);
        if (k <= 0) {
            exit(0);
        }
        data += k;
        n -= (size_t)k;
    }
}

uint64_t board_cycles(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t board_cycles_hz(void)
{
    return 1000000000u;
}

uint32_t board_boot_id(void)
{
    return boots;
}

void board_reset(void)
{
    boots++; /* main() re-initialises the protocol and forgets the model, like a reboot */
}
