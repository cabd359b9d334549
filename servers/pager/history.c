/* The pager's recent decisions, for the console's `faults` (pager.h): a
 * ring of raw decisions, formatted only when asked for. */
#include <mica/string.h>
#include <mica/vm.h>

#include "fault.h"
#include "pager.h"

static struct pager_decision ring[PAGER_HISTORY];
static uint64_t recorded; /* since boot; ring[(recorded - 1) % N] is the newest */

struct pager_decision *pager_history_next(void)
{
    return &ring[recorded++ % PAGER_HISTORY];
}

void on_faults(const struct mica_msg *req, struct mica_msg *reply)
{
    uint64_t i = req->w[0];
    reply->w[1] = recorded;
    if (i >= recorded || i >= PAGER_HISTORY) {
        reply->w[0] = (uint64_t)-MICA_ENOENT;
        return;
    }
    char line[256];
    pager_decision_format(&ring[(recorded - 1 - i) % PAGER_HISTORY], line, sizeof line);
    size_t n = strlen(line);
    memcpy(pager_buffer.data, line, n);
    reply->label = MICA_MSG_MAKE(0, n);
    reply->w[0] = 0;
}
