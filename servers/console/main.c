/* console: a small shell on the serial line for the person at `make run`.
 * It reads lines (line.c), runs commands (commands.c) and goes on after
 * any error. Started by init in normal mode from its boot.cfg line
 *     demo console send:init send:names pager:pager
 * which gives it init's control endpoint (run, kill), the name service
 * (servers, log) and the pager (its memory, faults, log). */
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>

#include "commands.h"
#include "line.h"

#define PROMPT "mica> "

int main(const struct mica_start_info *si)
{
    (void)si;
    static char line[LINE_MAX];
    printf("console: the Mica shell on this serial line; type 'help' for its commands.\n");
    printf("console: try 'ps', 'servers', 'run crashme', 'faults'; quit QEMU with Ctrl-A then X.\n");
    for (;;) {
        long n = line_read(PROMPT, line);
        if (n < 0) {
            printf("console: cannot read the serial line: %s\n", mica_error_name(n));
            return 1;
        }
        command_run(line);
    }
}
