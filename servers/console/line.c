/* Line editing on the serial console (line.h). The terminal does the
 * drawing: erasing a character is "\b \b", replacing the line is erasing
 * it character by character and printing the new one. */
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "line.h"

#define KEY_BS   0x08
#define KEY_DEL  0x7f
#define KEY_ESC  0x1b
#define KEY_CTRL_C 0x03
#define KEY_CTRL_U 0x15

static char history[LINE_HISTORY][LINE_MAX];
static unsigned nhistory; /* lines ever added; the newest is (nhistory - 1) % N */

static void out(const char *s, size_t n)
{
    stdio_flush(); /* printf output first, in order */
    mica_debug_write(s, n);
}

static void erase(size_t n)
{
    while (n--)
        out("\b \b", 3);
}

/* Replace the line being edited (len characters shown) with text. */
static size_t replace(char *buf, size_t len, const char *text)
{
    erase(len);
    strlcpy(buf, text, LINE_MAX);
    size_t n = strlen(buf);
    out(buf, n);
    return n;
}

/* Input bytes are read in chunks and handed out one at a time. */
static int next_byte(void)
{
    static char in[64];
    static long have, pos;
    if (pos == have) {
        have = mica_console_read(in, sizeof in);
        pos = 0;
        if (have <= 0) {
            long rc = have;
            have = 0;
            return (int)(rc < 0 ? rc : -MICA_EINVAL);
        }
    }
    return (unsigned char)in[pos++];
}

long line_read(const char *prompt, char *buf)
{
    static int after_cr; /* a LF right after a CR ends no second line */
    size_t len = 0;
    unsigned back = 0; /* how far up the history: 0 = the line being typed */
    static char typed[LINE_MAX]; /* the line being typed, while looking back */
    buf[0] = '\0';
    out(prompt, strlen(prompt));
    for (;;) {
        int c = next_byte();
        if (c < 0)
            return c;
        if (c == '\n' && after_cr) {
            after_cr = 0;
            continue;
        }
        after_cr = c == '\r';
        if (c == '\r' || c == '\n') {
            out("\n", 1);
            buf[len] = '\0';
            if (len)
                strlcpy(history[nhistory++ % LINE_HISTORY], buf, LINE_MAX);
            return (long)len;
        }
        if (c == KEY_DEL || c == KEY_BS) {
            if (len) {
                buf[--len] = '\0';
                erase(1);
            }
        } else if (c == KEY_CTRL_U) {
            erase(len);
            len = 0;
            buf[0] = '\0';
        } else if (c == KEY_CTRL_C) {
            out("^C\n", 3);
            len = 0;
            buf[0] = '\0';
            out(prompt, strlen(prompt));
        } else if (c == KEY_ESC) {
            if (next_byte() != '[')
                continue;
            int k = next_byte();
            unsigned kept = nhistory < LINE_HISTORY ? nhistory : LINE_HISTORY;
            if (k == 'A' && back < kept) {
                if (back == 0)
                    strlcpy(typed, buf, LINE_MAX);
                back++;
                len = replace(buf, len, history[(nhistory - back) % LINE_HISTORY]);
            } else if (k == 'B' && back > 0) {
                back--;
                len = replace(buf, len,
                              back ? history[(nhistory - back) % LINE_HISTORY] : typed);
            }
        } else if (c >= ' ' && c < KEY_DEL && len + 1 < LINE_MAX) {
            buf[len++] = (char)c;
            buf[len] = '\0';
            char ch = (char)c;
            out(&ch, 1);
        }
    }
}
