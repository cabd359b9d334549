/* test_echo: the client of servers/echo, found by name through the name
 * service (boot.cfg: test test_echo send:names): words and data come back
 * unchanged, and a label the server does not know is refused. */
#include <mica/ktap.h>
#include <mica/names.h>
#include <mica/server.h>
#include <mica/start.h>
#include <mica/string.h>
#include <mica/sys.h>

#include "../../servers/echo/echo.h"

static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));
static struct mica_service echo = MICA_SERVICE("echo");

static void words_come_back(void)
{
    struct mica_msg m = {.label = ECHO_SAY, .w = {1, 2, 3, ~0ull}}, r;
    KTAP_EXPECT_EQ(mica_service_call(&echo, &m, &r), 0);
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(r.label), ECHO_SAY);
    KTAP_EXPECT(r.w[0] == 1 && r.w[1] == 2 && r.w[2] == 3 && r.w[3] == ~0ull);
}

static void data_comes_back(void)
{
    static const size_t lens[] = {0, 1, 100, MICA_IPC_BUF_MAX};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t b = 0; b < lens[i]; b++)
            ipcbuf.data[b] = (uint8_t)(b * 7 + i);
        struct mica_msg m = {.label = MICA_MSG_MAKE(ECHO_SAY, lens[i])}, r;
        KTAP_EXPECT_EQ(mica_service_call(&echo, &m, &r), 0);
        KTAP_EXPECT_EQ(MICA_MSG_LEN(r.label), lens[i]);
        size_t bad = 0;
        for (size_t b = 0; b < lens[i]; b++)
            bad += ipcbuf.data[b] != (uint8_t)(b * 7 + i);
        KTAP_EXPECT_EQ(bad, 0);
    }
}

static void an_unknown_label_is_refused(void)
{
    struct mica_msg m = {.label = 99}, r;
    KTAP_EXPECT_EQ(mica_service_call(&echo, &m, &r), 0);
    KTAP_EXPECT_EQ(MICA_MSG_LABEL(r.label), MICA_SERVER_BAD_LABEL);
    KTAP_EXPECT_EQ((int64_t)r.w[0], -MICA_ENOSYS);
}

static const struct ktap_case tests[] = {
    {"words_come_back", words_come_back},
    {"data_comes_back", data_comes_back},
    {"an_unknown_label_is_refused", an_unknown_label_is_refused},
};

int main(const struct mica_start_info *si)
{
    (void)si;
    if (mica_set_ipc_buffer(&ipcbuf) < 0)
        return 1; /* no KTAP document: the run reports this program as broken */
    return ktap_run_cases(tests, sizeof tests / sizeof tests[0]);
}
