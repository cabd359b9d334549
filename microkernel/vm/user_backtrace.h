/* The ring-3 half of a kill report: the frames of the faulting thread,
 * found by walking its saved-RBP chain (user programs are built with
 * -fno-omit-frame-pointer, like the kernel). The kernel knows no user
 * symbols: it prints raw addresses tagged with the task's name,
 *     "  #N 0x<16 hex digits> [NAME]"   ("#N ? 0x..." for a likely caller)
 * and tools/run-qemu, which has every build/user/NAME.elf, adds the
 * function, offset, file and line to each such line of the console. */
#pragma once

#include "lib/types.h"
#include "object/task.h"

/* Most frames printed; a deeper stack ends with a note. */
#define USER_BACKTRACE_MAX 16

/* Print `rip` as frame #0, then, if the word at `rsp` is a code address,
 * that as a likely caller ("#1 ?": the faulting function may keep no
 * frame), then the return addresses of the RBP chain from `rbp`, for task
 * t, whose address space must be the current one.
 * Reads user memory with fault-safe copies that never ask the pager: a
 * bad or unmapped frame pointer ends the walk, as does one that is not
 * above the previous one (a loop). Never faults, never blocks. */
void user_backtrace_print(const struct task *t, uint64_t rip, uint64_t rsp, uint64_t rbp);
