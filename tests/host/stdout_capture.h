/* Capturing what code under test prints (kprintf goes to stdout in host
 * tests) so a test can check the text. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct stdout_capture {
    int saved_fd;
    FILE *tmp;
};

static inline void capture_begin(struct stdout_capture *c)
{
    fflush(stdout);
    c->tmp = tmpfile();
    c->saved_fd = dup(STDOUT_FILENO);
    if (!c->tmp || c->saved_fd < 0 || dup2(fileno(c->tmp), STDOUT_FILENO) < 0) {
        perror("capture_begin");
        exit(2);
    }
}

/* Stop capturing; the text (NUL-terminated, truncated to size - 1) goes to
 * `buf`. Returns its length. */
static inline size_t capture_end(struct stdout_capture *c, char *buf, size_t size)
{
    fflush(stdout);
    dup2(c->saved_fd, STDOUT_FILENO);
    close(c->saved_fd);
    rewind(c->tmp);
    size_t n = fread(buf, 1, size - 1, c->tmp);
    buf[n] = '\0';
    fclose(c->tmp);
    return n;
}
