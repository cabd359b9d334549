/* Page protections, as mm/ and everything above it name them: the VM_*
 * bits taken by vmm_map and vmm_protect (mm/pt.h turns them into x86
 * page-table bits). In their own header so that a caller that only needs the
 * bits does not pull in the page-table interface. */
#pragma once

/* Protection bits for vmm_map/vmm_protect; pages are always readable. */
#define VM_WRITE   0x1u  /* writable */
#define VM_EXEC    0x2u  /* executable (otherwise NX) */
#define VM_USER    0x4u  /* reachable from ring 3 */
#define VM_GLOBAL  0x8u  /* global TLB entry (kernel mappings only) */
#define VM_NOCACHE 0x10u /* uncached (device memory) */
#define VM_PROT_MASK 0x1fu
