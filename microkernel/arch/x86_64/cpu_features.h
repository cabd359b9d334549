/* CPU features the kernel adapts to, read once with CPUID at boot. */
#pragma once

#include "lib/types.h"

struct cpu_features {
    bool nx;       /* execute-disable bit (EFER.NXE) */
    bool pge;      /* global pages */
    bool pdpe1gb;  /* 1 GiB pages */
    bool smep;     /* supervisor-mode execution prevention */
    bool smap;     /* supervisor-mode access prevention */
    bool invpcid;
    bool x2apic;
    char vendor[13];
};

/* Filled by cpu_features_detect(); read-only afterwards. */
extern struct cpu_features cpu_features;

/* Run CPUID and fill cpu_features. Call once, first thing in kmain. */
void cpu_features_detect(void);
