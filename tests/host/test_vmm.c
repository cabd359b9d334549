/* Host tests of the page tables (mm/vmm.c) and of the kernel address space
 * builder (mm/kernel_space.c), over simulated physical memory and the
 * bitmap frame allocator in vmm_pmm_stub.c.
 *
 * Each test starts from fresh frames and a kernel space built the way boot
 * builds it. Results are checked through the API and, independently, by
 * reading the table pages: exact leaf bits, per-table present counts, and
 * the number of table pages against what the set of mappings predicts. */
#include <stdlib.h>
#include <string.h>

#include <mica/errno.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/pte.h"
#include "mm/kernel_space.h"
#include "mm/phys.h"
#include "mm/pmm.h"
#include "mm/tlb.h"
#include "mm/vmm.h"
#include "tap.h"

/* vmm_pmm_stub.c */
void stub_pmm_init(uint64_t frames);
void stub_pmm_fini(void);
void stub_pmm_fail_after(long n);
uint64_t stub_pmm_used(void);
bool stub_pmm_allocated(paddr_t pa);

struct cpu_features cpu_features = {.nx = true, .pge = true};

#define SIM_FRAMES (64u * 1024) /* 256 MiB of simulated RAM, touched lazily */
#define PG PAGE_SIZE
#define DYN KERNEL_DYN_START

/* ------------------------------------------------------------- fixture -- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A small fake kernel image at KERNEL_VMA + 2 MiB. */
static const struct kimage_part fake_image[] = {
    {KERNEL_VMA + 0x200000, KERNEL_VMA + 0x203000, VM_EXEC | VM_GLOBAL},
    {KERNEL_VMA + 0x203000, KERNEL_VMA + 0x205000, VM_GLOBAL},
    {KERNEL_VMA + 0x205000, KERNEL_VMA + 0x208000, VM_WRITE | VM_GLOBAL},
};
static uint64_t kernel_tables_at_boot;

/* Fresh frames, a kernel space over 64 MiB of RAM, kernel space current. */
static struct vm_space *setup(void)
{
    static const struct pmm_range ram[] = {{0, 64 * MiB}};
    stub_pmm_init(SIM_FRAMES);
    struct vm_space *ks = vmm_kernel_space();
    ks->pml4 = kernel_space_build(ram, 1, fake_image, ARRAY_SIZE(fake_image));
    vmm_activate(ks);
    kernel_tables_at_boot = stub_pmm_used();
    tlb_host_page_flushes = tlb_host_full_flushes = 0;
    return ks;
}

static void teardown(void)
{
    vmm_kernel_space()->pml4 = 0;
    stub_pmm_fini();
}

/* ------------------------------------------------- independent checks -- */

/* The entry that maps `va` (any level), read straight from the tables;
 * NULL if none. */
static uint64_t *leaf_of(const struct vm_space *as, vaddr_t va, int *level)
{
    paddr_t t = as->pml4;
    for (int l = 4; l >= 1; l--) {
        uint64_t *e = (uint64_t *)phys_to_virt(t) + ((va >> (12 + 9 * (l - 1))) & 511);
        if (!(*e & PTE_P))
            return NULL;
        if (l == 1 || (*e & PTE_PS)) {
            if (level)
                *level = l;
            return e;
        }
        t = *e & PTE_ADDR_MASK;
    }
    return NULL;
}

/* The exact leaf a 4 KiB mapping should have. */
static uint64_t expected_leaf(paddr_t pa, unsigned prot)
{
    uint64_t e = pa | PTE_P;
    if (prot & VM_WRITE)
        e |= PTE_W;
    if (prot & VM_USER)
        e |= PTE_U;
    if (prot & VM_GLOBAL)
        e |= PTE_G;
    if (prot & VM_NOCACHE)
        e |= PTE_PCD | PTE_PWT;
    if (!(prot & VM_EXEC) && cpu_features.nx)
        e |= PTE_NX;
    return e;
}

/* Check that every table under `table` stores its true present count;
 * descends into slots [first, end) of this table only. Returns the number
 * of table pages visited. */
static uint64_t audit(paddr_t table, int level, unsigned first, unsigned end)
{
    const uint64_t *e = phys_to_virt(table);
    unsigned present = 0;
    uint64_t n = 1;
    CHECK(stub_pmm_allocated(table));
    for (unsigned i = 0; i < 512; i++) {
        if (!(e[i] & PTE_P))
            continue;
        present++;
        if (level > 1 && !(e[i] & PTE_PS) && i >= first && i < end)
            n += audit(e[i] & PTE_ADDR_MASK, level - 1, 0, 512);
    }
    CHECK_EQ(pmm_frame_aux(table), present);
    return n;
}

static uint64_t audit_user(const struct vm_space *as)
{
    return audit(as->pml4, 4, 0, 256);
}

static bool kernel_halves_equal(const struct vm_space *a, const struct vm_space *b)
{
    return memcmp((uint64_t *)phys_to_virt(a->pml4) + 256,
                  (uint64_t *)phys_to_virt(b->pml4) + 256, 256 * 8) == 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t count_distinct(uint64_t *keys, size_t n)
{
    if (n == 0)
        return 0;
    qsort(keys, n, sizeof *keys, cmp_u64);
    uint64_t d = 1;
    for (size_t i = 1; i < n; i++)
        d += keys[i] != keys[i - 1];
    return d;
}

/* Table pages that a set of 4 KiB mappings needs below the PML4: one per
 * distinct PML4 slot (PDPT, when `with_pdpt`), 1 GiB (PD), 2 MiB (PT). */
static uint64_t tables_for(const vaddr_t *va, size_t n, bool with_pdpt)
{
    uint64_t *k = malloc((n + 1) * sizeof *k), total = 0;
    for (int shift = with_pdpt ? 39 : 30; shift >= 21; shift -= 9) {
        for (size_t i = 0; i < n; i++)
            k[i] = va[i] >> shift;
        total += count_distinct(k, n);
    }
    free(k);
    return total;
}

/* ------------------------------------------------------------- tests -- */

/* Map, translate, re-protect and unmap with every prot value in both
 * halves; invalid combinations must be refused. */
static void test_map_translate_every_prot(void)
{
    setup();
    struct vm_space as;
    CHECK_EQ(vmm_space_create(&as), 0);
    uint64_t base = stub_pmm_used();

    for (int round = 0; round < 2; round++) {
        for (unsigned prot = 0; prot <= VM_PROT_MASK; prot++) {
            for (int kernel = 0; kernel < 2; kernel++) {
                vaddr_t va = (kernel ? DYN : 0x400000) + prot * PG;
                paddr_t pa = (0x100000 + prot * 0x1234 + kernel) * PG, got;
                unsigned p;
                bool valid = kernel ? !(prot & VM_USER)
                                    : (prot & VM_USER) && !(prot & VM_GLOBAL);
                if (!valid) {
                    CHECK_EQ(vmm_map(&as, va, pa, prot), -MICA_EINVAL);
                    CHECK_EQ(vmm_translate(&as, va, NULL, NULL), -MICA_ENOENT);
                    continue;
                }
                CHECK_EQ(vmm_map(&as, va, pa, prot), 0);
                uint64_t *e = leaf_of(&as, va, NULL);
                CHECK(e != NULL && *e == expected_leaf(pa, prot));
                CHECK(e != NULL && !(*e & PTE_NX) == !!(prot & VM_EXEC));
                CHECK_EQ(vmm_translate(&as, va + 0x7a5, &got, &p), 0);
                CHECK_EQ(got, pa + 0x7a5);
                CHECK_EQ(p, prot);

                unsigned np = prot ^ VM_WRITE ^ VM_EXEC ^ VM_NOCACHE;
                CHECK_EQ(vmm_protect(&as, va, np), 0);
                CHECK(e != NULL && *e == expected_leaf(pa, np));
                CHECK_EQ(vmm_translate(&as, va, &got, &p), 0);
                CHECK_EQ(got, pa);
                CHECK_EQ(p, np);
                /* The same mapping is visible from the kernel space. */
                if (kernel)
                    CHECK_EQ(vmm_translate(vmm_kernel_space(), va, NULL, NULL), 0);
                CHECK_EQ(vmm_unmap(&as, va, &got), 0);
                CHECK_EQ(got, pa);
                CHECK_EQ(vmm_translate(&as, va, NULL, NULL), -MICA_ENOENT);
            }
        }
        /* User tables are gone; the kernel PD and PT stay (shared). */
        CHECK_EQ(vmm_table_pages(&as), 1);
        CHECK_EQ(stub_pmm_used(), base + 2);
    }
    audit_user(&as);
    audit(vmm_kernel_space()->pml4, 4, 0, 512);
    vmm_space_destroy(&as);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot + 2);
    teardown();
}

/* Without NX support no leaf gets the NX bit and everything executes. */
static void test_no_nx_cpu(void)
{
    setup();
    cpu_features.nx = false;
    struct vm_space *ks = vmm_kernel_space();
    unsigned p;
    CHECK_EQ(vmm_map(ks, DYN, 0x5000, VM_WRITE), 0);
    uint64_t *e = leaf_of(ks, DYN, NULL);
    CHECK(e != NULL && !(*e & PTE_NX));
    CHECK_EQ(vmm_translate(ks, DYN, NULL, &p), 0);
    CHECK_EQ(p, VM_WRITE | VM_EXEC);
    CHECK_EQ(vmm_unmap(ks, DYN, NULL), 0);
    cpu_features.nx = true;
    teardown();
}

/* Every way to get the arguments wrong, and mappings that collide. */
static void test_errors(void)
{
    setup();
    struct vm_space as;
    CHECK_EQ(vmm_space_create(&as), 0);
    const unsigned U = VM_USER | VM_WRITE;
    paddr_t pa = 0x123000;
    uint64_t base = stub_pmm_used();

    /* misaligned */
    CHECK_EQ(vmm_map(&as, 0x400800, pa, U), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, 0x400000, pa + 8, U), -MICA_EINVAL);
    CHECK_EQ(vmm_unmap(&as, 0x400008, NULL), -MICA_EINVAL);
    CHECK_EQ(vmm_protect(&as, 0x400008, U), -MICA_EINVAL);
    CHECK_EQ(vmm_map_2m(&as, 0x401000, 0x200000, U), -MICA_EINVAL);
    CHECK_EQ(vmm_map_2m(&as, 0x400000, 0x201000, U), -MICA_EINVAL);
    /* non-canonical */
    CHECK_EQ(vmm_map(&as, 0x0000800000000000ULL, pa, VM_WRITE), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, 0x0000900000000000ULL, pa, U), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, 0xffff7ffffffff000ULL, pa, VM_WRITE), -MICA_EINVAL);
    CHECK_EQ(vmm_translate(&as, 0x8000000000000000ULL, NULL, NULL), -MICA_EINVAL);
    CHECK_EQ(vmm_unmap(&as, 0x0000800000000000ULL, NULL), -MICA_EINVAL);
    /* wrong half for the flags */
    CHECK_EQ(vmm_map(&as, 0x400000, pa, VM_WRITE), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, DYN, pa, U), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, 0x400000, pa, U | VM_GLOBAL), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, USER_SPACE_END - PG, pa, U), 0);
    CHECK_EQ(vmm_unmap(&as, USER_SPACE_END - PG, NULL), 0);
    /* bad prot bits, bad physical address */
    CHECK_EQ(vmm_map(&as, 0x400000, pa, U | 0x20), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, 0x400000, pa, U | 0x80000000u), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, 0x400000, 1ULL << 52, U), -MICA_EINVAL);
    CHECK_EQ(vmm_map(&as, 0x400000, (1ULL << 52) - PG, U), 0);
    CHECK_EQ(vmm_unmap(&as, 0x400000, NULL), 0);
    CHECK_EQ(stub_pmm_used(), base); /* nothing above left tables behind */

    /* double map keeps the first mapping */
    CHECK_EQ(vmm_map(&as, 0x400000, pa, U), 0);
    CHECK_EQ(vmm_map(&as, 0x400000, pa + PG, U | VM_EXEC), -MICA_EEXIST);
    uint64_t *e = leaf_of(&as, 0x400000, NULL);
    CHECK(e != NULL && *e == expected_leaf(pa, U));
    CHECK_EQ(vmm_protect(&as, 0x400000, VM_WRITE), -MICA_EINVAL);
    CHECK_EQ(vmm_protect(&as, 0x400000, U | 0x40), -MICA_EINVAL);
    /* not mapped: neighbour in the same PT, and a space with no tables */
    CHECK_EQ(vmm_unmap(&as, 0x401000, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_protect(&as, 0x401000, U), -MICA_ENOENT);
    CHECK_EQ(vmm_translate(&as, 0x401000, NULL, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_unmap(&as, 0x7f0000000000ULL, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_unmap(&as, DYN + 0x10000000, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_table_pages(&as), 4);
    CHECK_EQ(vmm_unmap(&as, 0x400000, NULL), 0);
    CHECK_EQ(vmm_unmap(&as, 0x400000, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_table_pages(&as), 1);
    CHECK_EQ(tlb_host_page_flushes, 0); /* `as` was never current */
    audit_user(&as);
    vmm_space_destroy(&as);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot);
    teardown();
}

/* Running out of frames part-way through leaves no table behind. */
static void test_enomem_leaves_nothing(void)
{
    setup();
    struct vm_space as;
    stub_pmm_fail_after(0);
    CHECK_EQ(vmm_space_create(&as), -MICA_ENOMEM);
    stub_pmm_fail_after(-1);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot);
    CHECK_EQ(vmm_space_create(&as), 0);
    uint64_t base = stub_pmm_used();
    const unsigned U = VM_USER | VM_WRITE;

    /* Three tables needed; fail the 1st, 2nd, 3rd allocation. */
    for (long k = 0; k < 3; k++) {
        stub_pmm_fail_after(k);
        CHECK_EQ(vmm_map(&as, 0x40000000, 0x9000, U), -MICA_ENOMEM);
        stub_pmm_fail_after(-1);
        CHECK_EQ(stub_pmm_used(), base);
        CHECK_EQ(vmm_table_pages(&as), 1);
        CHECK_EQ(vmm_translate(&as, 0x40000000, NULL, NULL), -MICA_ENOENT);
        audit_user(&as);
    }
    CHECK_EQ(vmm_map(&as, 0x40000000, 0x9000, U), 0);
    CHECK_EQ(vmm_table_pages(&as), 4);
    /* Two tables needed under the existing PDPT. */
    for (long k = 0; k < 2; k++) {
        stub_pmm_fail_after(k);
        CHECK_EQ(vmm_map(&as, 0x80000000, 0xa000, U), -MICA_ENOMEM);
        stub_pmm_fail_after(-1);
        CHECK_EQ(vmm_table_pages(&as), 4);
        CHECK_EQ(stub_pmm_used(), base + 3);
    }
    /* A page in an existing PT needs no frame at all. */
    stub_pmm_fail_after(0);
    CHECK_EQ(vmm_map(&as, 0x40001000, 0xb000, U), 0);
    /* Kernel half: PD and PT under the shared PDPT. */
    CHECK_EQ(vmm_map(&as, DYN + 5 * GiB, 0xc000, VM_WRITE), -MICA_ENOMEM);
    stub_pmm_fail_after(1);
    CHECK_EQ(vmm_map(&as, DYN + 5 * GiB, 0xc000, VM_WRITE), -MICA_ENOMEM);
    stub_pmm_fail_after(-1);
    CHECK_EQ(stub_pmm_used(), base + 3);
    audit_user(&as);
    audit(vmm_kernel_space()->pml4, 4, 0, 512);
    CHECK_EQ(vmm_unmap(&as, 0x40000000, NULL), 0);
    CHECK_EQ(vmm_unmap(&as, 0x40001000, NULL), 0);
    CHECK_EQ(vmm_table_pages(&as), 1);
    vmm_space_destroy(&as);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot);
    teardown();
}

/* Two spaces see one kernel half and private user halves. */
static void test_spaces_share_kernel_half(void)
{
    struct vm_space *ks = setup();
    struct vm_space a, b;
    CHECK_EQ(vmm_space_create(&a), 0);
    CHECK_EQ(vmm_space_create(&b), 0);
    CHECK(a.pml4 != b.pml4);
    CHECK(kernel_halves_equal(&a, ks) && kernel_halves_equal(&b, ks));
    CHECK_EQ(vmm_table_pages(&a), 1);

    paddr_t pa;
    CHECK_EQ(vmm_map(&a, DYN + 3 * GiB, 0x77000, VM_WRITE), 0);
    CHECK_EQ(vmm_translate(&b, DYN + 3 * GiB + 5, &pa, NULL), 0);
    CHECK_EQ(pa, 0x77005);
    CHECK_EQ(vmm_translate(ks, DYN + 3 * GiB, NULL, NULL), 0);
    CHECK_EQ(vmm_map(&b, DYN + 3 * GiB, 0x78000, VM_WRITE), -MICA_EEXIST);

    CHECK_EQ(vmm_map(&a, 0x1000, 0x10000, VM_USER), 0);
    CHECK_EQ(vmm_translate(&b, 0x1000, NULL, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_map(&b, 0x1000, 0x20000, VM_USER | VM_WRITE), 0);
    CHECK_EQ(vmm_translate(&a, 0x1000, &pa, NULL), 0);
    CHECK_EQ(pa, 0x10000);
    CHECK_EQ(vmm_translate(&b, 0x1000, &pa, NULL), 0);
    CHECK_EQ(pa, 0x20000);

    CHECK_EQ(vmm_unmap(&b, DYN + 3 * GiB, &pa), 0);
    CHECK_EQ(pa, 0x77000);
    CHECK_EQ(vmm_translate(&a, DYN + 3 * GiB, NULL, NULL), -MICA_ENOENT);
    CHECK(kernel_halves_equal(&a, ks) && kernel_halves_equal(&b, ks));
    CHECK_EQ(vmm_table_pages(&a), 4);
    CHECK_EQ(vmm_table_pages(&b), 4);
    audit_user(&a);
    audit_user(&b);
    vmm_space_destroy(&a);
    CHECK_EQ(vmm_translate(&b, 0x1000, &pa, NULL), 0);
    vmm_space_destroy(&b);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot + 2);
    teardown();
}

/* Invalidation happens for the current space and the kernel half only,
 * and only when an existing translation changes. */
static void test_tlb_invalidation(void)
{
    setup();
    struct vm_space a, b;
    CHECK_EQ(vmm_space_create(&a), 0);
    CHECK_EQ(vmm_space_create(&b), 0);
    vmm_activate(&a);
    const unsigned U = VM_USER | VM_WRITE;

    CHECK_EQ(vmm_map(&a, 0x5000, 0x1000, U), 0);
    CHECK_EQ(tlb_host_page_flushes, 0);
    CHECK_EQ(vmm_protect(&a, 0x5000, U), 0); /* unchanged */
    CHECK_EQ(tlb_host_page_flushes, 0);
    CHECK_EQ(vmm_protect(&a, 0x5000, VM_USER), 0);
    CHECK_EQ(tlb_host_page_flushes, 1);
    CHECK_EQ(tlb_host_last_page, 0x5000);
    CHECK_EQ(vmm_unmap(&a, 0x6000, NULL), -MICA_ENOENT);
    CHECK_EQ(tlb_host_page_flushes, 1);
    CHECK_EQ(vmm_unmap(&a, 0x5000, NULL), 0);
    CHECK_EQ(tlb_host_page_flushes, 2);

    CHECK_EQ(vmm_map(&b, 0x5000, 0x1000, U), 0);
    CHECK_EQ(vmm_protect(&b, 0x5000, VM_USER), 0);
    CHECK_EQ(vmm_unmap(&b, 0x5000, NULL), 0);
    CHECK_EQ(tlb_host_page_flushes, 2);

    /* The kernel half is live in every space. */
    CHECK_EQ(vmm_map(&b, DYN, 0x1000, VM_WRITE), 0);
    CHECK_EQ(tlb_host_page_flushes, 2);
    CHECK_EQ(vmm_protect(&b, DYN, 0), 0);
    CHECK_EQ(tlb_host_page_flushes, 3);
    CHECK_EQ(vmm_unmap(&b, DYN, NULL), 0);
    CHECK_EQ(tlb_host_page_flushes, 4);
    CHECK_EQ(tlb_host_last_page, DYN);
    CHECK_EQ(tlb_host_full_flushes, 0);

    EXPECT_PANIC(vmm_space_destroy(&a)); /* current */
    vmm_activate(vmm_kernel_space());
    vmm_space_destroy(&a);
    vmm_space_destroy(&b);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot + 2);
    teardown();
}

/* 2 MiB pages: translation anywhere inside, collisions with 4 KiB pages,
 * no 4 KiB operations on them; and a 1 GiB leaf made by hand. */
static void test_large_pages(void)
{
    struct vm_space *ks = setup();
    struct vm_space as;
    CHECK_EQ(vmm_space_create(&as), 0);
    const unsigned U = VM_USER | VM_WRITE;
    paddr_t pa;
    unsigned p;
    int level;

    CHECK_EQ(vmm_map_2m(&as, 0x40000000, 0x80000000, U), 0);
    uint64_t *e = leaf_of(&as, 0x40000000, &level);
    CHECK(e != NULL && level == 2 && *e == (expected_leaf(0x80000000, U) | PTE_PS));
    CHECK_EQ(vmm_table_pages(&as), 3);
    for (uint64_t off = 0; off < 2 * MiB; off += 0x3ff01) {
        CHECK_EQ(vmm_translate(&as, 0x40000000 + off, &pa, &p), 0);
        CHECK_EQ(pa, 0x80000000 + off);
        CHECK_EQ(p, U);
    }
    CHECK_EQ(vmm_translate(&as, 0x40200000, NULL, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_map(&as, 0x40001000, 0x1000, U), -MICA_EEXIST);
    CHECK_EQ(vmm_map_2m(&as, 0x40000000, 0x200000, U), -MICA_EEXIST);
    CHECK_EQ(vmm_unmap(&as, 0x40001000, NULL), -MICA_EINVAL);
    CHECK_EQ(vmm_protect(&as, 0x40000000, VM_USER), -MICA_EINVAL);
    /* A 2 MiB page over an existing page table is refused. */
    CHECK_EQ(vmm_map(&as, 0x40401000, 0x1000, U), 0);
    CHECK_EQ(vmm_map_2m(&as, 0x40400000, 0x200000, U), -MICA_EEXIST);
    CHECK_EQ(vmm_table_pages(&as), 4);

    /* Kernel-half 2 MiB pages, as the direct map uses. */
    CHECK_EQ(vmm_translate(ks, DIRECT_MAP_START + 0x123456, &pa, &p), 0);
    CHECK_EQ(pa, 0x123456);
    CHECK_EQ(p, VM_WRITE | VM_GLOBAL);
    CHECK_EQ(vmm_map_2m(ks, DYN + 7 * GiB, 0x40000000, VM_WRITE | VM_NOCACHE), 0);
    CHECK_EQ(vmm_translate(&as, DYN + 7 * GiB + 0x1fffff, &pa, &p), 0);
    CHECK_EQ(pa, 0x401fffff);
    CHECK_EQ(p, VM_WRITE | VM_NOCACHE);

    /* A hand-made 1 GiB leaf in PDPT slot 3 of the user half. */
    paddr_t pdpt = *(uint64_t *)phys_to_virt(as.pml4) & PTE_ADDR_MASK;
    uint64_t *slot = (uint64_t *)phys_to_virt(pdpt) + 3;
    *slot = 0x1c0000000ULL | PTE_P | PTE_U | PTE_PS | PTE_NX;
    pmm_frame_set_aux(pdpt, pmm_frame_aux(pdpt) + 1);
    CHECK_EQ(vmm_translate(&as, 3 * GiB + 0x2345678, &pa, &p), 0);
    CHECK_EQ(pa, 0x1c0000000ULL + 0x2345678);
    CHECK_EQ(p, VM_USER);
    CHECK_EQ(vmm_map(&as, 3 * GiB + 0x200000, 0x1000, U), -MICA_EEXIST);
    CHECK_EQ(vmm_map_2m(&as, 3 * GiB, 0x200000, U), -MICA_EEXIST);
    audit_user(&as);

    vmm_space_destroy(&as); /* 2 MiB and 1 GiB leaves: tables freed, frames not */
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot + 1);
    teardown();
}

/* Destroying a space frees every table of its user half. */
static void test_space_destroy_frees_all(void)
{
    setup();
    struct vm_space as;
    vaddr_t va[300];
    CHECK_EQ(vmm_space_create(&as), 0);
    uint64_t base = stub_pmm_used();
    for (int i = 0; i < 300; i++) {
        int rc;
        do {
            va[i] = (rnd() % (USER_SPACE_END / PG)) * PG;
            rc = vmm_map(&as, va[i], rnd() % (1ULL << 40) * PG, VM_USER);
        } while (rc == -MICA_EEXIST);
        CHECK_EQ(rc, 0);
    }
    CHECK_EQ(vmm_map_2m(&as, 0x600000, 0x400000, VM_USER), 0);
    /* The 2 MiB page needs the PDPT and PD of [0, 1 GiB) but no PT. */
    uint64_t keys[301], want = 1;
    for (int shift = 39; shift >= 21; shift -= 9) {
        size_t n = 0;
        for (int i = 0; i < 300; i++)
            keys[n++] = va[i] >> shift;
        if (shift > 21)
            keys[n++] = 0x600000ULL >> shift;
        want += count_distinct(keys, n);
    }
    CHECK_EQ(vmm_table_pages(&as), want);
    CHECK_EQ(audit_user(&as), vmm_table_pages(&as));
    CHECK_EQ(stub_pmm_used(), base + vmm_table_pages(&as) - 1);
    vmm_space_destroy(&as);
    CHECK_EQ(as.pml4, 0);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot);
    EXPECT_PANIC(vmm_space_destroy(vmm_kernel_space()));
    teardown();
}

/* A kernel-half PML4 slot can only be filled before other spaces exist. */
static void test_kernel_slot_rule(void)
{
    struct vm_space *ks = setup();
    struct vm_space as;
    const vaddr_t fresh = 0xffffd00000000000ULL; /* slot 416: no PDPT at boot */
    CHECK_EQ(vmm_space_create(&as), 0);
    EXPECT_PANIC(vmm_map(ks, fresh, 0x1000, VM_WRITE));
    EXPECT_PANIC(vmm_map(&as, fresh, 0x1000, VM_WRITE));
    CHECK(kernel_halves_equal(&as, ks));
    vmm_space_destroy(&as);

    uint64_t before = vmm_table_pages(ks);
    CHECK_EQ(vmm_map(ks, fresh, 0x1000, VM_WRITE), 0);
    CHECK_EQ(vmm_table_pages(ks), before + 3);
    CHECK_EQ(vmm_space_create(&as), 0);
    CHECK(kernel_halves_equal(&as, ks));
    CHECK_EQ(vmm_translate(&as, fresh, NULL, NULL), 0);
    CHECK_EQ(vmm_unmap(&as, fresh, NULL), 0);
    CHECK_EQ(vmm_table_pages(ks), before + 3); /* kernel tables stay */
    vmm_space_destroy(&as);
    audit(ks->pml4, 4, 0, 512);
    teardown();
}

/* One slot of the model: a page that is or is not mapped. */
struct slot {
    vaddr_t va;
    bool mapped, ever;
    paddr_t pa;
    unsigned prot;
};

#define NSLOTS 512

static void make_slots(struct slot *s)
{
    for (int i = 0; i < NSLOTS; i++) {
        vaddr_t va;
        if (i < 64)
            va = 0x400000 + i * PG;                       /* one PT */
        else if (i < 96)
            va = 1 * GiB - 16 * PG + (i - 64) * PG;       /* across a PD */
        else if (i < 128)
            va = 512 * GiB - 16 * PG + (i - 96) * PG;     /* across a PML4 slot */
        else if (i < 160)
            va = USER_SPACE_END - (160 - i) * PG;         /* top of user */
        else if (i < 192)
            va = 18 * MiB - 16 * PG + (i - 160) * PG;     /* across a PT */
        else if (i < 384)
            va = (1 + rnd() % (USER_SPACE_END / PG - 1)) * PG;
        else if (i < 448)
            va = DYN + 8 * MiB + (i - 384) * PG;          /* kernel, dense */
        else
            va = DYN + (rnd() % (KERNEL_DYN_SIZE / PG)) * PG;
        bool dup = false;
        for (int j = 0; j < i; j++)
            dup |= s[j].va == va;
        if (dup) {
            i--;
            continue;
        }
        s[i] = (struct slot){.va = va};
    }
}

static unsigned random_prot(vaddr_t va)
{
    unsigned r = (unsigned)rnd();
    if (va < USER_SPACE_END)
        return VM_USER | (r & (VM_WRITE | VM_EXEC | VM_NOCACHE));
    return r & (VM_WRITE | VM_EXEC | VM_GLOBAL | VM_NOCACHE);
}

/* Compare everything against the model: translations, leaf bits, table
 * counts per table, table pages and frames in use. */
static void check_model(struct vm_space *as, const struct slot *s, uint64_t base)
{
    vaddr_t user[NSLOTS], kern[NSLOTS];
    size_t nu = 0, nk = 0;
    for (int i = 0; i < NSLOTS; i++) {
        paddr_t pa;
        unsigned p;
        uint64_t off = rnd() & PAGE_MASK;
        struct vm_space *via = s[i].va >= USER_SPACE_END && (i & 1) ? vmm_kernel_space() : as;
        int rc = vmm_translate(via, s[i].va + off, &pa, &p);
        if (!s[i].mapped) {
            CHECK_EQ(rc, -MICA_ENOENT);
        } else {
            CHECK_EQ(rc, 0);
            CHECK_EQ(pa, s[i].pa + off);
            CHECK_EQ(p, s[i].prot);
            uint64_t *e = leaf_of(as, s[i].va, NULL);
            CHECK(e != NULL && *e == expected_leaf(s[i].pa, s[i].prot));
            if (s[i].va < USER_SPACE_END)
                user[nu++] = s[i].va;
        }
        if (s[i].ever && s[i].va >= USER_SPACE_END)
            kern[nk++] = s[i].va;
    }
    uint64_t utables = 1 + tables_for(user, nu, true);
    uint64_t ktables = tables_for(kern, nk, false); /* never freed */
    CHECK_EQ(vmm_table_pages(as), utables);
    CHECK_EQ(audit_user(as), utables);
    CHECK_EQ(stub_pmm_used(), base + utables - 1 + ktables);
    CHECK_EQ(vmm_table_pages(vmm_kernel_space()), kernel_tables_at_boot + ktables);
}

/* Random map/unmap/protect/translate against a model of the mappings. */
static void test_random_against_model(void)
{
    struct vm_space *ks = setup();
    struct vm_space as;
    static struct slot s[NSLOTS];
    CHECK_EQ(vmm_space_create(&as), 0);
    uint64_t base = stub_pmm_used();
    uint64_t flushes = 0;
    make_slots(s);
    vmm_activate(&as);

    const int ops = 200000;
    for (int n = 0; n < ops; n++) {
        if (n == ops / 2)
            vmm_activate(ks); /* the second half runs with `as` not current */
        struct slot *x = &s[rnd() % NSLOTS];
        bool kernel = x->va >= USER_SPACE_END;
        struct vm_space *via = kernel && (rnd() & 1) ? ks : &as;
        bool live = kernel || n < ops / 2;
        paddr_t pa = (rnd() % (1ULL << 40)) * PG, old;
        unsigned prot = random_prot(x->va);
        switch (rnd() % 4) {
        case 0:
        case 1:
            if (x->mapped) {
                CHECK_EQ(vmm_map(via, x->va, pa, prot), -MICA_EEXIST);
            } else {
                CHECK_EQ(vmm_map(via, x->va, pa, prot), 0);
                *x = (struct slot){x->va, true, true, pa, prot};
            }
            break;
        case 2:
            if (!x->mapped) {
                CHECK_EQ(vmm_unmap(via, x->va, &old), -MICA_ENOENT);
            } else {
                CHECK_EQ(vmm_unmap(via, x->va, &old), 0);
                CHECK_EQ(old, x->pa);
                x->mapped = false;
                flushes += live;
            }
            break;
        default:
            if (!x->mapped) {
                CHECK_EQ(vmm_protect(via, x->va, prot), -MICA_ENOENT);
            } else {
                CHECK_EQ(vmm_protect(via, x->va, prot), 0);
                flushes += live && prot != x->prot;
                x->prot = prot;
            }
            break;
        }
        CHECK_EQ(tlb_host_page_flushes, flushes);
        if (n % 5000 == 0)
            check_model(&as, s, base);
    }
    check_model(&as, s, base);
    for (int i = 0; i < NSLOTS; i++) {
        if (s[i].mapped) {
            CHECK_EQ(vmm_unmap(&as, s[i].va, NULL), 0);
            s[i].mapped = false;
        }
    }
    check_model(&as, s, base);
    CHECK_EQ(vmm_table_pages(&as), 1);
    vmm_space_destroy(&as);
    CHECK_EQ(stub_pmm_used() - (vmm_table_pages(ks) - kernel_tables_at_boot),
             kernel_tables_at_boot);
    teardown();
}

/* The boot-time builder: direct map of exactly the RAM chunks, W^X image,
 * no identity map, and exactly the predicted table pages. */
static void test_kernel_space_layout(void)
{
    static const struct pmm_range ram[] = {
        {0x0, 0x9fc00},
        {0x100000, 0x7fe0000},
        {0x1000000, 0x2000000},                      /* overlaps the previous */
        {0x20001000, 0x20001000},                    /* empty */
        {0x100000000, 0x140000000},                  /* 4..5 GiB */
        {0x8000000000 + 0x1000, 0x8000000000 + 0x300000}, /* 512 GiB: next PML4 slot */
        {0x3fffffe00000, 0x400000001000},            /* runs past the 64 TiB window */
    };
    static const struct kimage_part img[] = {
        {KERNEL_VMA + 0x3fe000, KERNEL_VMA + 0x401000, VM_EXEC | VM_GLOBAL},
        {KERNEL_VMA + 0x401000, KERNEL_VMA + 0x402800, VM_GLOBAL},
        {KERNEL_VMA + 0x403000, KERNEL_VMA + 0x405000, VM_WRITE | VM_GLOBAL},
    };
    stub_pmm_init(SIM_FRAMES);
    struct vm_space *ks = vmm_kernel_space();
    ks->pml4 = kernel_space_build(ram, ARRAY_SIZE(ram), img, ARRAY_SIZE(img));
    /* PML4; PDPTs 256, 257, 383, 384 (KERNEL_DYN), 511; PDs for GiB 0, 4,
     * 512, 65535 and the image; two PTs for the image (its text crosses
     * 2 MiB); six PTs of the direct map: the chunks only partly RAM (at 0,
     * 126 MiB, 512 GiB, 512 GiB + 2 MiB) and the two the image lies in. */
    CHECK_EQ(vmm_table_pages(ks), 19);
    CHECK_EQ(stub_pmm_used(), 19);
    CHECK_EQ(audit(ks->pml4, 4, 0, 512), 19);

    /* Chunks wholly RAM without the image: one 2 MiB page each. */
    static const paddr_t large[] = {0x1800000, 0x100000000, 0x13fffffff, 0x3fffffe00000,
                                    0x3fffffffffff};
    /* RAM in the other chunks (a page partly RAM counts), the image's
     * neighbours included: 4 KiB pages, read-write. */
    static const paddr_t small[] = {0, 0x9fbff, 0x9fc00, 0x100000, 0x200000, 0x3fd000,
                                    0x405000, 0x7fdffff, 0x8000001000, 0x80002fffff};
    /* Holes next to RAM in partly-RAM chunks, and chunks without RAM. */
    static const paddr_t out[] = {0xa0000, 0xfffff, 0x7fe0000, 0x7ffffff, 0x8000000,
                                  0x20000000, 0xffffffff, 0x140000000, 0x8000000000,
                                  0x8000000fff, 0x8000300000, 0x80003fffff, 0x8000400000,
                                  0x7fffffffff, 0x3fffffc00000};
    paddr_t pa;
    unsigned p;
    int level;
    for (size_t i = 0; i < ARRAY_SIZE(large); i++) {
        CHECK_EQ(vmm_translate(ks, DIRECT_MAP_START + large[i], &pa, &p), 0);
        CHECK_EQ(pa, large[i]);
        CHECK_EQ(p, VM_WRITE | VM_GLOBAL);
        CHECK(leaf_of(ks, DIRECT_MAP_START + large[i], &level) && level == 2);
    }
    for (size_t i = 0; i < ARRAY_SIZE(small); i++) {
        CHECK_EQ(vmm_translate(ks, DIRECT_MAP_START + small[i], &pa, &p), 0);
        CHECK_EQ(pa, small[i]);
        CHECK_EQ(p, VM_WRITE | VM_GLOBAL);
        CHECK(leaf_of(ks, DIRECT_MAP_START + small[i], &level) && level == 1);
    }
    for (size_t i = 0; i < ARRAY_SIZE(out); i++)
        CHECK_EQ(vmm_translate(ks, DIRECT_MAP_START + out[i], NULL, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_translate(ks, KERNEL_DYN_START, NULL, NULL), -MICA_ENOENT);

    /* The image's frames in the direct map: its protection without exec,
     * so text and rodata cannot be written through this alias either. */
    static const struct {
        paddr_t pa;
        unsigned prot;
    } alias[] = {{0x3fe000, VM_GLOBAL}, {0x400fff, VM_GLOBAL}, {0x401000, VM_GLOBAL},
                 {0x402800, VM_GLOBAL}, {0x403000, VM_WRITE | VM_GLOBAL},
                 {0x404fff, VM_WRITE | VM_GLOBAL}};
    for (size_t i = 0; i < ARRAY_SIZE(alias); i++) {
        CHECK_EQ(vmm_translate(ks, DIRECT_MAP_START + alias[i].pa, &pa, &p), 0);
        CHECK_EQ(pa, alias[i].pa);
        CHECK_EQ(p, alias[i].prot);
    }

    /* The image, W^X, at KERNEL_VMA + phys. */
    CHECK_EQ(vmm_translate(ks, KERNEL_VMA + 0x3fe000, &pa, &p), 0);
    CHECK_EQ(pa, 0x3fe000);
    CHECK_EQ(p, VM_EXEC | VM_GLOBAL);
    CHECK_EQ(vmm_translate(ks, KERNEL_VMA + 0x400abc, &pa, &p), 0);
    CHECK_EQ(pa, 0x400abc);
    CHECK_EQ(p, VM_EXEC | VM_GLOBAL);
    CHECK_EQ(vmm_translate(ks, KERNEL_VMA + 0x402fff, &pa, &p), 0);
    CHECK_EQ(p, VM_GLOBAL);
    CHECK_EQ(vmm_translate(ks, KERNEL_VMA + 0x404000, &pa, &p), 0);
    CHECK_EQ(pa, 0x404000);
    CHECK_EQ(p, VM_WRITE | VM_GLOBAL);
    CHECK_EQ(vmm_translate(ks, KERNEL_VMA + 0x3fd000, NULL, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_translate(ks, KERNEL_VMA + 0x405000, NULL, NULL), -MICA_ENOENT);
    /* No identity map: null and low memory fault. */
    CHECK_EQ(vmm_translate(ks, 0, NULL, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_translate(ks, 0x100000, NULL, NULL), -MICA_ENOENT);
    CHECK_EQ(vmm_translate(ks, KERNEL_LOAD_PHYS, NULL, NULL), -MICA_ENOENT);

    /* A space made from it shares all of it. */
    struct vm_space as;
    CHECK_EQ(vmm_space_create(&as), 0);
    CHECK(kernel_halves_equal(&as, ks));
    CHECK_EQ(pmm_frame_aux(as.pml4), 5);
    vmm_space_destroy(&as);
    teardown();
}

/* The builder refuses images it cannot map with W^X. */
static void test_kernel_space_bad_image(void)
{
    static const struct pmm_range ram[] = {{0, 16 * MiB}};
    static const struct kimage_part overlap[] = {
        {KERNEL_VMA + 0x200000, KERNEL_VMA + 0x202001, VM_EXEC},
        {KERNEL_VMA + 0x202000, KERNEL_VMA + 0x203000, VM_WRITE},
    };
    static const struct kimage_part misaligned[] = {
        {KERNEL_VMA + 0x200800, KERNEL_VMA + 0x203000, VM_EXEC},
    };
    static const struct kimage_part user[] = {
        {KERNEL_VMA + 0x200000, KERNEL_VMA + 0x203000, VM_USER},
    };
    stub_pmm_init(SIM_FRAMES);
    EXPECT_PANIC(kernel_space_build(ram, 1, overlap, 2));
    EXPECT_PANIC(kernel_space_build(ram, 1, misaligned, 1));
    EXPECT_PANIC(kernel_space_build(ram, 1, user, 1));
    stub_pmm_fini();
}

/* Random user pages (and one 2 MiB page), with their frames. */
#define SCAN_PAGES 300
static void map_random_user(struct vm_space *as, vaddr_t *va, paddr_t *pa)
{
    for (int i = 0; i < SCAN_PAGES; i++) {
        int rc;
        do {
            va[i] = (1 + rnd() % (USER_SPACE_END / PG - 1)) * PG;
            pa[i] = (rnd() % (1ULL << 40)) * PG;
            rc = vmm_map(as, va[i], pa[i], VM_USER);
        } while (rc == -MICA_EEXIST);
        CHECK_EQ(rc, 0);
    }
}

static int cmp_va(const void *a, const void *b)
{
    vaddr_t x = *(const vaddr_t *)a, y = *(const vaddr_t *)b;
    return x < y ? -1 : x > y;
}

/* vmm_next_mapped finds every mapped page in order, whatever the budget,
 * and crosses an empty user half in a few hundred units, not 2^35. */
static void test_next_mapped(void)
{
    setup();
    struct vm_space as;
    CHECK_EQ(vmm_space_create(&as), 0);

    unsigned budget = 1000;
    vaddr_t v = PG;
    paddr_t pa;
    CHECK(!vmm_next_mapped(&as, &v, USER_SPACE_END, &pa, &budget));
    CHECK_EQ(v, USER_SPACE_END);
    CHECK(budget > 1000 - 300);

    static vaddr_t va[SCAN_PAGES];
    static paddr_t fr[SCAN_PAGES];
    map_random_user(&as, va, fr);
    size_t n = SCAN_PAGES;
    qsort(va, n, sizeof va[0], cmp_va);

    for (int round = 0; round < 4; round++) {
        size_t found = 0, stops = 0;
        v = 0;
        budget = 0;
        while (v < USER_SPACE_END) {
            if (budget == 0) {
                budget = round == 0 ? 1 : 5 + rnd() % 200;
                stops++;
            }
            vaddr_t before = v;
            if (vmm_next_mapped(&as, &v, USER_SPACE_END, &pa, &budget)) {
                paddr_t want;
                CHECK(found < n);
                CHECK_EQ(v, va[found]);
                CHECK_EQ(vmm_translate(&as, v, &want, NULL), 0);
                CHECK_EQ(pa, want);
                found++;
                v += PG;
            } else {
                CHECK(v >= before);
                CHECK(budget == 0 || v == USER_SPACE_END);
            }
        }
        CHECK_EQ(found, n);
        CHECK(stops > 0);
    }
    /* A sub-range starting and ending between pages. */
    size_t mid = n / 2;
    v = va[mid - 1] + PG;
    budget = 1u << 30;
    CHECK(vmm_next_mapped(&as, &v, va[mid + 1], &pa, &budget));
    CHECK_EQ(v, va[mid]);
    v = va[mid] + PG;
    CHECK(!vmm_next_mapped(&as, &v, va[mid + 1], &pa, &budget));
    CHECK_EQ(v, va[mid + 1]);

    vmm_space_destroy(&as);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot);
    teardown();
}

/* A 2 MiB leaf is reported as its 4 KiB pieces. */
static void test_next_mapped_large(void)
{
    setup();
    struct vm_space as;
    CHECK_EQ(vmm_space_create(&as), 0);
    CHECK_EQ(vmm_map_2m(&as, 0x40000000, 0x800000, VM_USER), 0);
    unsigned budget = 1u << 30;
    vaddr_t v = 0x40000000 + 5 * PG;
    paddr_t pa;
    CHECK(vmm_next_mapped(&as, &v, USER_SPACE_END, &pa, &budget));
    CHECK_EQ(v, 0x40000000 + 5 * PG);
    CHECK_EQ(pa, 0x800000 + 5 * PG);
    v = 0x40200000;
    CHECK(!vmm_next_mapped(&as, &v, USER_SPACE_END, &pa, &budget));
    vmm_space_destroy(&as);
    teardown();
}

static uint64_t cleared, cleared_sum;
static void count_frame(paddr_t pa, void *arg)
{
    (void)arg;
    cleared++;
    cleared_sum += pa;
}

/* vmm_clear_user of as under random small budgets until it is done, the
 * tables audited after every stop; the frames counted into cleared and
 * cleared_sum. Returns the number of steps. */
static unsigned clear_in_steps(struct vm_space *as)
{
    cleared = cleared_sum = 0;
    unsigned steps = 0;
    for (;;) {
        unsigned budget = 20 + rnd() % 100;
        steps++;
        if (vmm_clear_user(as, count_frame, NULL, 12, &budget))
            return steps;
        CHECK_EQ(audit_user(as), vmm_table_pages(as));
    }
}

/* vmm_clear_user in small steps reports every frame once and frees every
 * table; the space stays consistent between steps. */
static void test_clear_user_in_steps(void)
{
    setup();
    struct vm_space as;
    CHECK_EQ(vmm_space_create(&as), 0);
    uint64_t base = stub_pmm_used();
    static vaddr_t va[SCAN_PAGES];
    static paddr_t fr[SCAN_PAGES];
    map_random_user(&as, va, fr);
    uint64_t sum = 0;
    for (int i = 0; i < SCAN_PAGES; i++)
        sum += fr[i];
    unsigned steps = clear_in_steps(&as);
    CHECK(steps > 10);
    CHECK_EQ(cleared, SCAN_PAGES);
    CHECK_EQ(cleared_sum, sum);
    CHECK_EQ(vmm_table_pages(&as), 1);
    CHECK_EQ(stub_pmm_used(), base);
    for (int i = 0; i < SCAN_PAGES; i++)
        CHECK_EQ(vmm_translate(&as, va[i], NULL, NULL), -MICA_ENOENT);
    vmm_space_destroy(&as);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot);
    teardown();
}

/* vmm_map_run: a run mapped with one walk reads back page by page with
 * the table's count right; a present page, a bad frame and bad prot stop
 * it at the page they concern, the pages before staying mapped. Then a
 * dense space (runs over 600 pages, full tables) cleared in small steps:
 * every frame reported once, every table freed. */
static void test_map_run_and_dense_clear(void)
{
    setup();
    struct vm_space as;
    CHECK_EQ(vmm_space_create(&as), 0);
    uint64_t base = stub_pmm_used();
    const unsigned U = VM_USER | VM_WRITE;
    static paddr_t fr[512];
    for (unsigned i = 0; i < 512; i++)
        fr[i] = 0x10000000 + (paddr_t)i * PG;
    unsigned done = 99;
    CHECK_EQ(vmm_map_run(&as, 0x400000 + 3 * PG, fr, 5, U, &done), 0);
    CHECK_EQ(done, 5);
    for (unsigned i = 0; i < 5; i++) {
        paddr_t got = 0;
        CHECK_EQ(vmm_translate(&as, 0x400000 + (3 + i) * PG, &got, NULL), 0);
        CHECK_EQ(got, fr[i]);
    }
    CHECK_EQ(audit_user(&as), vmm_table_pages(&as));
    /* Pages 3..7 are mapped: a run from page 1 stops at page 3. */
    CHECK_EQ(vmm_map_run(&as, 0x400000 + PG, fr + 100, 4, U, &done), -MICA_EEXIST);
    CHECK_EQ(done, 2);
    paddr_t bad[3] = {fr[200], fr[201] + 8, fr[202]};
    CHECK_EQ(vmm_map_run(&as, 0x400000 + 20 * PG, bad, 3, U, &done), -MICA_EINVAL);
    CHECK_EQ(done, 1);
    CHECK_EQ(vmm_map_run(&as, 0x400000 + 30 * PG, fr, 2, U | 0x20, &done), -MICA_EINVAL);
    CHECK_EQ(done, 0);
    CHECK_EQ(vmm_map_run(&as, 0x800000, fr, 2, VM_WRITE, &done), -MICA_EINVAL); /* not user */
    CHECK_EQ(done, 0);
    CHECK_EQ(audit_user(&as), vmm_table_pages(&as));
    CHECK_EQ(vmm_translate(&as, 0x400000 + 21 * PG, NULL, NULL), -MICA_ENOENT);
    /* A full table and a half one, from a fresh walk each. */
    CHECK_EQ(vmm_map_run(&as, 0x40000000, fr, 512, U, &done), 0);
    CHECK_EQ(vmm_map_run(&as, 0x40200000, fr, 100, U, &done), 0);
    uint64_t mapped = 5 + 2 + 1 + 512 + 100;
    CHECK_EQ(audit_user(&as), vmm_table_pages(&as));
    unsigned steps = clear_in_steps(&as);
    CHECK(steps > 50);
    CHECK_EQ(cleared, mapped);
    CHECK_EQ(vmm_table_pages(&as), 1);
    CHECK_EQ(stub_pmm_used(), base);
    vmm_space_destroy(&as);
    CHECK_EQ(stub_pmm_used(), kernel_tables_at_boot);
    teardown();
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP(test_map_translate_every_prot),
        TAP(test_no_nx_cpu),
        TAP(test_errors),
        TAP(test_map_run_and_dense_clear),
        TAP(test_enomem_leaves_nothing),
        TAP(test_spaces_share_kernel_half),
        TAP(test_tlb_invalidation),
        TAP(test_large_pages),
        TAP(test_space_destroy_frees_all),
        TAP(test_kernel_slot_rule),
        TAP(test_random_against_model),
        TAP(test_next_mapped),
        TAP(test_next_mapped_large),
        TAP(test_clear_user_in_steps),
        TAP(test_kernel_space_layout),
        TAP(test_kernel_space_bad_image),
    };
    return tap_run(tests, ARRAY_SIZE(tests));
}
