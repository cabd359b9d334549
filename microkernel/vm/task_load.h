/* Loading a task's memory in one pass (task_load.c): fresh frames filled
 * as they are taken, for MICA_SYS_TASK_LOAD and for the kernel's own
 * loader (init's segments and boot modules). */
#pragma once

#include "lib/types.h"
#include "vm/elf_load.h"

struct task;

/* Map npages fresh frames at page-aligned va in t with MICA_PROT_* prot,
 * each filled before it is mapped: the len bytes at offset off of src
 * placed from va + skip (skip + len within the pages), zeros everywhere
 * else, so no frame is zeroed and then overwritten and none shows old
 * contents. Frames are uncharged. Stops at preemption points. Returns 0,
 * or -MICA_EEXIST (a page is mapped), -MICA_ENOMEM, -MICA_EDEAD (t ended,
 * or the caller was killed), src's read error; nothing is left mapped on
 * failure (unless t ended: its teardown frees what was). */
int task_load_pages(struct task *t, uintptr_t va, uint64_t npages, unsigned prot, size_t skip,
                    const struct image_src *src, uint64_t off, size_t len);
