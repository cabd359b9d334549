/* Host tests for the architecture half of the panic report
 * (arch/x86_64/panic_report.c): exception names, page-fault and selector
 * error codes decoded against a bit-by-bit model over every value, and the
 * printed register report of synthetic trap frames, with the rip symbolized
 * from the fixture symbol table (see ksyms.mk). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "stdout_capture.h"
#include "arch/x86_64/trap.h"

static bool contains(const char *text, const char *needle)
{
    if (strstr(text, needle))
        return true;
    printf("# missing \"%s\" in:\n%s", needle, text);
    return false;
}

static void test_vector_names(void)
{
    static const unsigned reserved[] = {9, 15, 22, 23, 24, 25, 26, 27, 31};
    bool is_reserved[32] = {false};

    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        is_reserved[reserved[i]] = true;
    for (unsigned v = 0; v < 32; v++) {
        const char *name = trap_vector_name(v);
        CHECK(name != NULL);
        if (is_reserved[v])
            CHECK(strcmp(name, "reserved") == 0);
        else
            CHECK(name[0] == '#' || strcmp(name, "NMI non-maskable interrupt") == 0);
    }
    CHECK(strcmp(trap_vector_name(VEC_PF), "#PF page fault") == 0);
    CHECK(strcmp(trap_vector_name(VEC_GP), "#GP general protection") == 0);
    CHECK(strcmp(trap_vector_name(VEC_DF), "#DF double fault") == 0);
    CHECK(strcmp(trap_vector_name(VEC_DE), "#DE divide error") == 0);
    CHECK(strcmp(trap_vector_name(32), "interrupt") == 0);
    CHECK(strcmp(trap_vector_name(255), "interrupt") == 0);
    CHECK(strcmp(trap_vector_name(~0u), "interrupt") == 0);
}

static void test_selector_error_vectors(void)
{
    for (unsigned v = 0; v < 256; v++)
        CHECK_EQ(trap_has_selector_error(v), v == 10 || v == 11 || v == 12 || v == 13);
}

/* Every 16-bit selector error code, against the SDM's layout: bit 0 EXT,
 * bit 1 IDT, bit 2 TI (LDT if set, meaningful only when IDT is clear),
 * bits 3-15 the index. */
static void test_selector_decode_all_codes(void)
{
    for (uint64_t err = 0; err < 0x10000 && tap_failures == 0; err++) {
        struct trap_selector_error e = trap_decode_selector_error(err);
        enum trap_selector_table want = (err & 2) ? TRAP_SEL_IDT : (err & 4) ? TRAP_SEL_LDT : TRAP_SEL_GDT;
        CHECK_EQ(e.external, (err & 1) != 0);
        CHECK_EQ(e.table, want);
        CHECK_EQ(e.index, err >> 3);
    }
    /* Upper bits are not part of the code. */
    CHECK_EQ(trap_decode_selector_error(0xffff0000ull | (5u << 3)).index, 5);
}

static void test_pf_error_all_codes(void)
{
    char buf[256];

    for (uint64_t err = 0; err < 128 && tap_failures == 0; err++) {
        size_t len = trap_describe_pf_error(err, buf, sizeof buf);
        CHECK_EQ(len, strlen(buf));
        CHECK(strstr(buf, (err & PF_ERR_P) ? "protection violation" : "not-present page") == buf);
        if (err & PF_ERR_I)
            CHECK(strstr(buf, ", instruction fetch,") && !strstr(buf, "write") && !strstr(buf, "read"));
        else
            CHECK(strstr(buf, (err & PF_ERR_W) ? ", write," : ", read,") != NULL);
        CHECK(strstr(buf, (err & PF_ERR_U) ? ", user mode" : ", kernel mode") != NULL);
        CHECK_EQ(strstr(buf, "reserved bit") != NULL, (err & PF_ERR_RSVD) != 0);
        CHECK_EQ(strstr(buf, "protection key") != NULL, (err & PF_ERR_PK) != 0);
        CHECK_EQ(strstr(buf, "shadow stack") != NULL, (err & PF_ERR_SS) != 0);
    }
    trap_describe_pf_error(PF_ERR_W, buf, sizeof buf);
    CHECK(strcmp(buf, "not-present page, write, kernel mode") == 0);
    trap_describe_pf_error(PF_ERR_P | PF_ERR_U | PF_ERR_I, buf, sizeof buf);
    CHECK(strcmp(buf, "protection violation, instruction fetch, user mode") == 0);
}

static void test_pf_error_truncation(void)
{
    char full[256], small[300];
    uint64_t err = PF_ERR_P | PF_ERR_W | PF_ERR_U | PF_ERR_RSVD | PF_ERR_PK | PF_ERR_SS;
    size_t len = trap_describe_pf_error(err, full, sizeof full);

    for (size_t size = 0; size <= len + 2; size++) {
        memset(small, 'x', sizeof small);
        CHECK_EQ(trap_describe_pf_error(err, small, size), len);
        if (size > 0) {
            size_t kept = size - 1 < len ? size - 1 : len;
            CHECK(memcmp(small, full, kept) == 0);
            CHECK_EQ(small[kept], '\0');
        }
        CHECK_EQ(small[size], 'x'); /* nothing written past the buffer */
    }
}

static struct trap_frame sample_frame(uint64_t vector, uint64_t error, uint64_t rip)
{
    struct trap_frame tf = {
        .r15 = 0xf15, .r14 = 0xf14, .r13 = 0xf13, .r12 = 0xf12, .r11 = 0xf11,
        .r10 = 0xf10, .r9 = 0xf09, .r8 = 0xf08, .rbp = 0xffffffff80ff0fc0ull,
        .rdi = 0xd1, .rsi = 0x51, .rdx = 0xd8, .rcx = 0xc8, .rbx = 0xb8,
        .rax = 0x1111111111111111ull, .vector = vector, .error = error, .rip = rip,
        .cs = 0x08, .rflags = 0x10046, .rsp = 0xffffffff80ff0f80ull, .ss = 0x10,
    };
    return tf;
}

static void report(const struct trap_frame *tf, char *out, size_t size)
{
    struct stdout_capture cap;
    capture_begin(&cap);
    trap_print_frame(tf);
    capture_end(&cap, out, size);
}

static void test_report_page_fault(void)
{
    struct trap_frame tf = sample_frame(VEC_PF, PF_ERR_W, 0xffffffff80101054ull);
    char out[4096];

    report(&tf, out, sizeof out);
    CHECK(contains(out, "  vector 14 (#PF page fault), error code 0x2\n"));
    CHECK(contains(out, "not-present page, write, kernel mode\n"));
    CHECK(contains(out, "cr2"));
    CHECK(contains(out, "  rax    0x1111111111111111  rbx    0x00000000000000b8  rcx    0x00000000000000c8\n"));
    CHECK(contains(out, "  r15    0x0000000000000f15  rip    0xffffffff80101054  rflags 0x0000000000010046\n"));
    CHECK(contains(out, "  cs     0x0000000000000008  ss     0x0000000000000010  cr0"));
    CHECK(contains(out, "rsp    0xffffffff80ff0f80"));
    CHECK(contains(out, "rbp    0xffffffff80ff0fc0"));
    CHECK(contains(out, "cr3"));
    CHECK(contains(out, "cr4"));
    CHECK(contains(out, "  rip is at out_of_order_fn+0x4\n"));
    /* Every general register appears, three to a line. */
    static const char *const regs[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                                       "r8 ", "r9 ", "r10", "r11", "r12", "r13", "r14", "r15"};
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
        CHECK(contains(out, regs[i]));
    unsigned lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    CHECK_EQ(lines, 2 + 8 + 1); /* error code, #PF line, 24 values / 3, rip symbol */
}

static void test_report_selector_errors(void)
{
    char out[4096];

    /* #GP raised while delivering external interrupt 13 through the IDT. */
    struct trap_frame tf = sample_frame(VEC_GP, (13u << 3) | 2 | 1, 0xffffffff80100040ull);
    report(&tf, out, sizeof out);
    CHECK(contains(out, "  vector 13 (#GP general protection), error code 0x6b\n"));
    CHECK(contains(out, "  selector error: external event, IDT vector 13\n"));
    CHECK(contains(out, "  rip is at boot_long_mode+0x0\n"));

    /* #NP for a GDT selector; #TS for an LDT one. */
    tf = sample_frame(VEC_NP, 6u << 3, 0xffffffff80101000ull);
    report(&tf, out, sizeof out);
    CHECK(contains(out, "  selector error: internal, GDT index 6 (selector 0x30)\n"));
    tf = sample_frame(VEC_TS, (2u << 3) | 4, 0xffffffff80101000ull);
    report(&tf, out, sizeof out);
    CHECK(contains(out, "  selector error: internal, LDT index 2 (selector 0x14)\n"));

    /* The common #GP with error code 0 has no selector to decode. */
    tf = sample_frame(VEC_GP, 0, 0xffffffff80101000ull);
    report(&tf, out, sizeof out);
    CHECK(contains(out, "  selector error: none (error code 0)\n"));
}

static void test_report_other_vectors(void)
{
    char out[4096];

    struct trap_frame tf = sample_frame(VEC_UD, 0, 0x1000);
    report(&tf, out, sizeof out);
    CHECK(contains(out, "  vector 6 (#UD invalid opcode), error code 0x0\n"));
    CHECK(!strstr(out, "selector") && !strstr(out, "page fault"));
    CHECK(contains(out, "  rip is outside every known function\n"));

    tf = sample_frame(15, 0, 0xffffffff80101000ull);
    report(&tf, out, sizeof out);
    CHECK(contains(out, "  vector 15 (reserved)"));

    tf = sample_frame(0x20, 0, 0xffffffff80101000ull);
    report(&tf, out, sizeof out);
    CHECK(contains(out, "  vector 32 (interrupt)"));
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_vector_names),
        TAP(test_selector_error_vectors),
        TAP(test_selector_decode_all_codes),
        TAP(test_pf_error_all_codes),
        TAP(test_pf_error_truncation),
        TAP(test_report_page_fault),
        TAP(test_report_selector_errors),
        TAP(test_report_other_vectors),
    };
    return tap_run(tests, (int)(sizeof tests / sizeof tests[0]));
}
