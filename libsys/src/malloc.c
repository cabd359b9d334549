/* malloc and friends: one heap (heap.c) over MICA_HEAP_BASE, growing by
 * mapping fresh read-write pages with mica_mem_map. */
#include "heap.h"

#include <mica/malloc.h>
#include <mica/stdio.h>
#include <mica/string.h>
#include <mica/sys.h>

static struct heap heap;
static int heap_ready;

static int grow_pages(void *ctx, uintptr_t at, size_t len)
{
    (void)ctx;
    long rc = mica_mem_map((void *)at, len, MICA_PROT_READ | MICA_PROT_WRITE);
    return rc < 0 ? (int)rc : 0;
}

/* Heap misuse is a bug in the program: report it and end the task the way
 * the kernel ends a faulting one, so that init counts it as a failure. */
static void heap_misuse(void *ctx, const char *what, const void *p)
{
    (void)ctx;
    printf("malloc: %s: %p\n", what, p);
    mica_exit(MICA_EXIT_KILLED);
}

static struct heap *the_heap(void)
{
    if (!heap_ready) {
        heap_init(&heap, MICA_HEAP_BASE, MICA_HEAP_BASE + MICA_HEAP_MAX, MICA_HEAP_GROW,
                  grow_pages, heap_misuse, NULL);
        heap_ready = 1;
    }
    return &heap;
}

void *malloc(size_t n)
{
    return heap_alloc(the_heap(), n);
}

void free(void *p)
{
    heap_free(the_heap(), p);
}

void *calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size)
        return NULL;
    void *p = malloc(n * size);
    /* Fresh pages are zero, but reused blocks are not. */
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *realloc(void *p, size_t n)
{
    return heap_realloc(the_heap(), p, n);
}

void mica_heap_stats(struct mica_heap_stats *st)
{
    struct heap *h = the_heap();
    st->mapped = h->mapped;
    st->in_use = h->in_use;
    st->live_blocks = h->live_blocks;
    st->free_blocks = h->free_blocks;
}

int mica_heap_check(void)
{
    const char *err = heap_check(the_heap());
    if (err) {
        printf("malloc: heap check: %s\n", err);
        return -1;
    }
    return 0;
}
