/* Memory-core usage snapshots: one place that adds up the allocators'
 * counters, for tests and MICA_SYS_INFO alike. */
#include "mm/mm_usage.h"
#include "mm/kheap.h"
#include "mm/pmm.h"
#include "mm/slab.h"

static void add_objs(const struct slab_cache *c, void *arg)
{
    struct slab_stats s;
    slab_get_stats(c, &s);
    *(uint64_t *)arg += s.objs_in_use;
}

uint64_t slab_objects_in_use(void)
{
    uint64_t n = 0;
    slab_for_each_cache(add_objs, &n);
    return n;
}

void mm_usage_get(struct mm_usage *u)
{
    struct pmm_stats ps;
    struct kheap_stats hs;
    pmm_get_stats(&ps);
    kheap_get_stats(&hs);
    u->free_frames = ps.free;
    u->heap_bytes = hs.bytes_in_use;
    u->slab_objs = slab_objects_in_use();
}

void mm_reclaim(void)
{
    slab_reclaim();
    kheap_reclaim();
    pmm_drain_cpu_cache();
}
