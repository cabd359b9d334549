/* In-kernel tests of the slab allocator: a named cache of kernel-sized
 * objects, and frames going back to the page-frame allocator when slabs
 * empty out. */
#include "test/ktest.h"
#include "mm/pmm.h"
#include "mm/slab.h"

static uint64_t pmm_free_frames(void)
{
    struct pmm_stats st;
    pmm_get_stats(&st);
    return st.free;
}

KTEST(slab_cache_named_objects)
{
    struct slab_cache *c = slab_cache_create("test-obj", 200, 0);
    KREQUIRE(t, c != NULL);
    static uint8_t *obj[100];
    for (int i = 0; i < 100; i++) {
        obj[i] = slab_alloc(c);
        KREQUIRE(t, obj[i] != NULL);
        KEXPECT(t, IS_ALIGNED((uintptr_t)obj[i], 8));
        for (int j = 0; j < 200; j++)
            obj[i][j] = (uint8_t)(i + j);
    }
    struct slab_stats st;
    slab_get_stats(c, &st);
    KEXPECT_EQ(t, st.objs_in_use, 100);
    KEXPECT(t, st.obj_size >= 200);
    KEXPECT(t, st.slabs * PAGE_SIZE >= 100 * st.obj_size);
    for (int i = 0; i < 100; i++) {
        bool ok = true;
        for (int j = 0; j < 200; j++)
            ok &= obj[i][j] == (uint8_t)(i + j);
        KEXPECT(t, ok);
        slab_free(c, obj[i]);
    }
    slab_get_stats(c, &st);
    KEXPECT_EQ(t, st.objs_in_use, 0);
    KEXPECT(t, st.slabs <= 1);
    KEXPECT_EQ(t, st.allocs, 100);
    KEXPECT_EQ(t, st.frees, 100);
    slab_cache_destroy(c);
}

KTEST(slab_returns_empty_slabs_to_pmm)
{
    struct slab_cache *c = slab_cache_create("test-frames", 1000, 0);
    KREQUIRE(t, c != NULL);
    uint64_t base = pmm_free_frames();
    static void *obj[300];
    for (int i = 0; i < 300; i++) {
        obj[i] = slab_alloc(c);
        KREQUIRE(t, obj[i] != NULL);
    }
    struct slab_stats st;
    slab_get_stats(c, &st);
    KEXPECT_EQ(t, pmm_free_frames(), base - st.slabs);
    KEXPECT(t, st.slabs >= 300 * 1000 / PAGE_SIZE);
    for (int i = 0; i < 300; i++)
        slab_free(c, obj[i]);
    slab_get_stats(c, &st);
    KEXPECT(t, st.slabs <= 1);
    KEXPECT_EQ(t, pmm_free_frames(), base - st.slabs);
    slab_cache_destroy(c);
    /* The cache's last slab is gone; freeing the cache struct may also
     * release a slab of the internal "slab_cache" cache. */
    uint64_t after = pmm_free_frames();
    KEXPECT(t, after == base || after == base + 1);
}
