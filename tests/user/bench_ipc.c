/* Benchmarks of the ring-3 paths, run by init in bench mode (not a test).
 * Under tools/bench, QEMU's -icount makes rdtsc count guest instructions,
 * so each figure is instructions per operation, the same on every run.
 * Each operation is warmed up, then timed over many iterations between
 * `lfence; rdtsc; lfence` pairs; the cost of the same empty loop is
 * subtracted. Output lines: "bench: NAME VALUE insn/op # what it includes". */
#include <mica/grant.h>
#include <mica/start.h>
#include <mica/stdio.h>
#include <mica/sys.h>

#include "ipc_echo.h"
#include "misbehaviours.h"
#include "tiny_elf.h"

static uint64_t echo_ep; /* boot.cfg: send:ipc_echo, looked up in main */

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence\n rdtsc\n lfence" : "=a"(lo), "=d"(hi) : : "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* The operations, each one iteration's worth. */
static void op_empty(void)
{
    __asm__ volatile("" ::: "memory");
}

static void op_syscall_null(void)
{
    uint64_t rax = MICA_SYS_NULL;
    __asm__ volatile("syscall" : "+a"(rax) : : "rcx", "r11", "memory");
}

static void op_ipc_call_reply(void)
{
    struct mica_msg m = {.label = ECHO_PING};
    mica_ipc_call(echo_ep, &m, &m, MICA_IPC_BLOCK);
}

/* The same call with `data_len` bytes each way, through both IPC buffers. */
static struct mica_ipc_buffer ipcbuf __attribute__((aligned(4096)));
static uint64_t data_len;

static void op_ipc_call_reply_data(void)
{
    struct mica_msg m = {.label = MICA_MSG_MAKE(ECHO_DATA, data_len)};
    mica_ipc_call(echo_ep, &m, &m, MICA_IPC_BLOCK);
}

static struct tiny_image spawn_img;
static const void *spawn_image;
static size_t spawn_len;

static void op_task_spawn_exit(void)
{
    long h = tiny_spawn_image(spawn_image, spawn_len, "bench");
    if (h >= 0) {
        mica_task_wait((uint64_t)h);
        mica_handle_close((uint64_t)h);
    }
}

/* Instructions for `iters` runs of op, after `warm` untimed ones. The
 * call goes through a volatile pointer so that the compiler cannot inline
 * or specialise it: the load and the indirect call are the same in the
 * measured and the empty loop and cancel out. */
static uint64_t measure(void (*op)(void), unsigned warm, unsigned iters)
{
    void (*volatile call)(void) = op;
    for (unsigned i = 0; i < warm; i++)
        call();
    uint64_t t0 = tsc();
    for (unsigned i = 0; i < iters; i++)
        call();
    return tsc() - t0;
}

/* Print one result line: (total - empty-loop cost) / iters, one decimal. */
static void report(const char *name, void (*op)(void), unsigned warm, unsigned iters,
                   const char *what)
{
    uint64_t empty = measure(op_empty, warm, iters);
    uint64_t total = measure(op, warm, iters);
    uint64_t net = total > empty ? total - empty : 0;
    uint64_t tenths = (net * 10 + iters / 2) / iters;
    printf("bench: %s %llu.%llu insn/op # %s\n", name, (unsigned long long)(tenths / 10),
           (unsigned long long)(tenths % 10), what);
}

/* A program with 1 MiB of text (exit(0) and then zeros) and 1 MiB of bss:
 * the loader copies 1 MiB; the bss is the pager's demand-zero memory,
 * which the child never touches (as after Linux's execve). */
#define BIG (1024u * 1024u)
static uint8_t big_img[TINY_CODE_OFF + BIG] __attribute__((aligned(4096)));

static size_t big_image_build(void)
{
    struct tiny_image *img = (struct tiny_image *)big_img;
    tiny_elf_build(img, mb_exit0_start, (size_t)(mb_exit0_end - mb_exit0_start));
    img->ph[0].filesz = img->ph[0].memsz = BIG;
    img->ph[1].vaddr = TINY_TEXT_VA + 2 * BIG; /* clear of the text */
    img->ph[1].memsz = BIG;
    return TINY_CODE_OFF + BIG;
}

int main(const struct mica_start_info *si)
{
    report("syscall_null", op_syscall_null, 256, 10000,
           "syscall + sysret with dispatch of MICA_SYS_NULL, from ring 3");

    (void)si;
    long echo = mica_grant_find("ipc_echo");
    if (echo >= 0) {
        echo_ep = (uint64_t)echo;
        report("ipc_call_reply", op_ipc_call_reply, 256, 10000,
               "mica_ipc_call of an empty message to ipc_echo in another address space and "
               "its reply (server: reply_recv loop, table dispatch), caller's view");
        mica_set_ipc_buffer(&ipcbuf);
        static const struct {
            const char *name;
            uint64_t len;
        } sizes[] = {{"ipc_call_reply_64", 64}, {"ipc_call_reply_512", 512},
                     {"ipc_call_reply_2048", 2048}};
        for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            char what[160];
            data_len = sizes[i].len;
            snprintf(what, sizeof what,
                     "as ipc_call_reply with %llu data bytes each way, IPC buffer to IPC "
                     "buffer (the server sends back what came, untouched)",
                     (unsigned long long)data_len);
            report(sizes[i].name, op_ipc_call_reply_data, 64, 2000, what);
        }
    } else {
        printf("# bench_ipc: no grant called \"ipc_echo\": ipc_call_reply not measured\n");
    }

    spawn_image = &spawn_img;
    spawn_len = tiny_elf_build(&spawn_img, mb_exit0_start, (size_t)(mb_exit0_end - mb_exit0_start));
    report("task_spawn_exit", op_task_spawn_exit, 16, 500,
           "mica_task_spawn of a 2-segment ELF (4.1 KiB text, 4 KiB bss) that exits at once, "
           "by a program with a pager: the child introduced to the pager as its own client "
           "(PAGER_VM_FORK_PREP, PAGER_VM_SPAWN, the deposit with init), its text page and "
           "stack top mapped, its bss left demand-zero (never touched); mica_task_wait, "
           "closing the task handle, the pager forgetting it at its death note");
    spawn_image = big_img;
    spawn_len = big_image_build();
    report("task_spawn_exit_1m", op_task_spawn_exit, 2, 10,
           "as task_spawn_exit with 1 MiB of text copied from the caller and 1 MiB of bss, "
           "demand-zero and never touched (nothing mapped for it)");
    return 0;
}
