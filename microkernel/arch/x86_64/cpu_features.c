/* cpu_features_detect(): reading CPUID leaves 0, 1, 7 and 0x80000001. */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/cpu_features.h"

struct cpu_features cpu_features;

/* Feature bits (Intel SDM vol. 2A, CPUID). */
#define CPUID1_EDX_PGE     (1u << 13)
#define CPUID1_ECX_X2APIC  (1u << 21)
#define CPUID7_EBX_SMEP    (1u << 7)
#define CPUID7_EBX_INVPCID (1u << 10)
#define CPUID7_EBX_SMAP    (1u << 20)
#define CPUIDX1_EDX_NX     (1u << 20)
#define CPUIDX1_EDX_1GB    (1u << 26)

static void put_le32(char *dst, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        dst[i] = (char)(v >> (8 * i));
}

void cpu_features_detect(void)
{
    struct cpu_features f = {0};
    uint32_t a, b, c, d;

    cpuid(0, 0, &a, &b, &c, &d);
    uint32_t max_leaf = a;
    /* The vendor string is EBX, EDX, ECX in that order ("GenuineIntel"). */
    put_le32(&f.vendor[0], b);
    put_le32(&f.vendor[4], d);
    put_le32(&f.vendor[8], c);
    f.vendor[12] = '\0';

    if (max_leaf >= 1) {
        cpuid(1, 0, &a, &b, &c, &d);
        f.pge = d & CPUID1_EDX_PGE;
        f.x2apic = c & CPUID1_ECX_X2APIC;
    }
    if (max_leaf >= 7) {
        cpuid(7, 0, &a, &b, &c, &d);
        f.smep = b & CPUID7_EBX_SMEP;
        f.smap = b & CPUID7_EBX_SMAP;
        f.invpcid = b & CPUID7_EBX_INVPCID;
    }

    cpuid(0x80000000u, 0, &a, &b, &c, &d);
    if (a >= 0x80000001u) {
        cpuid(0x80000001u, 0, &a, &b, &c, &d);
        f.nx = d & CPUIDX1_EDX_NX;
        f.pdpe1gb = d & CPUIDX1_EDX_1GB;
    }
    cpu_features = f;
}
