/* Host tests of init's introduction of a program to its pager
 * (servers/init/pager_link.c) against a simulated pager whose messages
 * can be damaged on the way, as ipc_flip does in the guest: a badge
 * flipped in the request, a reply spoiled, a layout refused every time.
 * A program the pager does not hold under its own badge would be told
 * "not introduced yet" for ever, so pager_link_add must either leave the
 * pager holding exactly the right badge or fail and leave it holding
 * nothing for that badge. */
#include <stdint.h>
#include <string.h>

#include <mica/errno.h>
#include <mica/sys.h>
#include <mica/vm.h>

#include "tap.h"
#include "../../servers/init/pager_link.h"

#define PAGER_EP 7
#define MAX_HELD 8

static struct mica_ipc_buffer buffer;
static struct {
    uint64_t held[MAX_HELD]; /* badges the pager has recorded (0: free) */
    unsigned adds, drops;
    unsigned flip_badge;     /* this many next ADD_CLIENTs arrive with bit 3 of w0 flipped */
    unsigned spoil_reply;    /* this many next ADD_CLIENT replies arrive with a bad label */
    int refuse;              /* every ADD_CLIENT is answered with this error (0: none) */
} pager;

struct mica_ipc_buffer *mica_ipc_buffer(void) { return &buffer; }
long mica_yield(void) { return 0; }
void supervise_poll(void); /* servers/init/supervise.h, whose init.h declares main */
void supervise_poll(void) {}

static long held_index(uint64_t badge)
{
    for (unsigned i = 0; i < MAX_HELD; i++)
        if (pager.held[i] == badge)
            return i;
    return -1;
}

static unsigned held_count(uint64_t badge)
{
    unsigned n = 0;
    for (unsigned i = 0; i < MAX_HELD; i++)
        n += pager.held[i] == badge;
    return n;
}

long mica_ipc_call(uint64_t h, const struct mica_msg *m, struct mica_msg *r, unsigned flags)
{
    (void)flags;
    if (h != PAGER_EP)
        return -MICA_EBADH;
    *r = (struct mica_msg){0};
    uint64_t badge = m->w[0];
    switch (MICA_MSG_LABEL(m->label)) {
    case PAGER_ADD_CLIENT:
        pager.adds++;
        CHECK(m->label & MICA_MSG_XFER_HANDLE);
        CHECK_EQ(buffer.handle, 42);
        if (pager.flip_badge) {
            pager.flip_badge--;
            badge ^= 8;
        }
        if (pager.refuse) {
            r->w[0] = (uint64_t)pager.refuse;
        } else if (held_index(badge) >= 0) {
            r->w[0] = (uint64_t)-MICA_EEXIST;
        } else {
            long i = held_index(0);
            CHECK(i >= 0);
            pager.held[i] = badge;
            r->w[1] = badge;
        }
        if (pager.spoil_reply) {
            pager.spoil_reply--;
            r->label = 1u << 4; /* the label's bit flipped on the way back */
        }
        return 0;
    case PAGER_DROP_CLIENT: {
        pager.drops++;
        long i = held_index(badge);
        if (i < 0) {
            r->w[0] = (uint64_t)-MICA_ENOENT;
        } else {
            pager.held[i] = 0;
        }
        return 0;
    }
    default:
        return -MICA_ENOSYS;
    }
}

static const struct mica_region layout[2] = {
    {.va = 0x400000, .len = 0x2000, .prot = MICA_PROT_READ | MICA_PROT_EXEC,
     .kind = MICA_REGION_IMAGE},
    {.va = 0x402000, .len = 0x1000, .prot = MICA_PROT_READ | MICA_PROT_WRITE,
     .kind = MICA_REGION_ANON},
};

static void reset(void)
{
    memset(&pager, 0, sizeof pager);
}

static void test_clean_introduction(void)
{
    reset();
    CHECK_EQ(pager_link_add(PAGER_EP, 5, 42, layout, 2), 0);
    CHECK_EQ(held_count(5), 1);
    CHECK_EQ(pager.adds, 1);
    CHECK_EQ(pager.drops, 0);
    CHECK(memcmp(buffer.data, layout, sizeof layout) == 0);
}

static void test_badge_flipped_on_the_way_in(void)
{
    reset();
    pager.flip_badge = 1;
    CHECK_EQ(pager_link_add(PAGER_EP, 5, 42, layout, 2), 0);
    CHECK_EQ(held_count(5), 1); /* the program is served under its own badge */
    CHECK_EQ(pager.adds, 2);
}

static void test_reply_spoiled(void)
{
    reset();
    pager.spoil_reply = 1;
    CHECK_EQ(pager_link_add(PAGER_EP, 5, 42, layout, 2), 0);
    CHECK_EQ(held_count(5), 1); /* recorded once, not refused as a duplicate */
    CHECK_EQ(pager.adds, 2);
}

static void test_damaged_every_time(void)
{
    reset();
    pager.spoil_reply = 100;
    CHECK(pager_link_add(PAGER_EP, 5, 42, layout, 2) < 0);
    CHECK_EQ(pager.adds, PAGER_LINK_TRIES);
    CHECK_EQ(held_count(5), 0); /* nothing kept for a program that will not run */
}

static void test_refused_layout(void)
{
    reset();
    pager.refuse = -MICA_EINVAL;
    CHECK_EQ(pager_link_add(PAGER_EP, 5, 42, layout, 2), -MICA_EINVAL);
    CHECK_EQ(pager.adds, PAGER_LINK_TRIES);
    CHECK_EQ(held_count(5), 0);
}

static void test_other_clients_untouched(void)
{
    reset();
    CHECK_EQ(pager_link_add(PAGER_EP, 13, 42, layout, 2), 0); /* 5 ^ 8 */
    pager.flip_badge = 1; /* 5 arrives as 13, which the pager already holds */
    CHECK_EQ(pager_link_add(PAGER_EP, 5, 42, layout, 2), 0);
    CHECK_EQ(held_count(5), 1);
    CHECK_EQ(held_count(13), 1);
}

static void test_too_long(void)
{
    reset();
    CHECK_EQ(pager_link_add(PAGER_EP, 5, 42, layout, MICA_IPC_BUF_MAX), -MICA_E2BIG);
    CHECK_EQ(pager.adds, 0);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_clean_introduction), TAP(test_badge_flipped_on_the_way_in),
        TAP(test_reply_spoiled),      TAP(test_damaged_every_time),
        TAP(test_refused_layout),     TAP(test_other_clients_untouched),
        TAP(test_too_long),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}
