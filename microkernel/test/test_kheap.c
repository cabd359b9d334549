/* In-kernel tests of the kernel heap: every size class allocated, written
 * and freed with the counters back at their baseline, and coalescing of
 * freed neighbours seen through an in-place krealloc. */
#include "test/ktest.h"
#include "mm/kheap.h"

/* Fill `n` bytes at `p` with a pattern derived from `seed`. */
static void pattern_fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31 + i);
}

static bool pattern_ok(const uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed * 31 + i))
            return false;
    return true;
}

KTEST(kheap_alloc_free_classes)
{
    static const size_t sizes[] = {1, 24, 32, 33, 64, 100, 128, 255, 256, 500, 512, 1000,
                                   1024, 2000, 2048, 2049, 3000, 8192, 100000};
    void *p[ARRAY_SIZE(sizes)];
    struct kheap_stats s0, s1;
    kheap_get_stats(&s0);
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        p[i] = kmalloc(sizes[i]);
        KREQUIRE(t, p[i] != NULL);
        KEXPECT(t, IS_ALIGNED((uintptr_t)p[i], KHEAP_ALIGN));
        KEXPECT(t, kmalloc_usable_size(p[i]) >= sizes[i]);
        pattern_fill(p[i], sizes[i], (unsigned)i);
    }
    kheap_get_stats(&s1);
    KEXPECT_EQ(t, s1.allocs - s0.allocs, ARRAY_SIZE(sizes));
    KEXPECT(t, s1.bytes_in_use > s0.bytes_in_use);
    kheap_check();
    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        KEXPECT(t, pattern_ok(p[i], sizes[i], (unsigned)i));
        kfree(p[i]);
    }
    kheap_get_stats(&s1);
    KEXPECT_EQ(t, s1.bytes_in_use, s0.bytes_in_use);
    KEXPECT_EQ(t, s1.allocs - s1.frees, s0.allocs - s0.frees);
    KEXPECT_EQ(t, s1.failures, s0.failures);
    KEXPECT(t, kmalloc(0) == NULL);
    kheap_check();
}

KTEST(kheap_coalesce)
{
    /* 3000 bytes is not a quick-list size, so frees merge at once. */
    uint8_t *a = kmalloc(3000), *b = kmalloc(3000), *c = kmalloc(3000), *d = kmalloc(3000);
    KREQUIRE(t, a && b && c && d);
    size_t step = kmalloc_usable_size(a) + 16; /* payload + header */
    if (b != a + step || c != b + step || d != c + step) {
        kfree(a);
        kfree(b);
        kfree(c);
        kfree(d);
        KSKIP(t, "blocks not adjacent (fragmented heap)");
    }
    struct kheap_stats s0, s1;
    kheap_get_stats(&s0);
    pattern_fill(a, 3000, 7);
    kfree(c);
    kfree(b); /* merges with c */
    kheap_get_stats(&s1);
    KEXPECT_EQ(t, s1.bytes_free, s0.bytes_free + 2 * step);
    /* a grows in place only if b and c became one free block. */
    uint8_t *a2 = krealloc(a, 3 * step - 16);
    KEXPECT(t, a2 == a);
    KEXPECT(t, pattern_ok(a2, 3000, 7));
    kheap_check();
    kfree(a2);
    kfree(d);
    kheap_get_stats(&s1);
    KEXPECT_EQ(t, s1.allocs - s1.frees, s0.allocs - s0.frees - 4);
    kheap_check();
}
