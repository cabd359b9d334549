/* Freestanding memory and string functions (the compiler may emit calls to
 * memcpy/memset/memmove/memcmp itself, so these names are fixed). */
#pragma once

#include "lib/types.h"

void *memset(void *dst, int c, size_t n);           /* fill n bytes */
void *memcpy(void *dst, const void *src, size_t n); /* regions must not overlap */
void *memmove(void *dst, const void *src, size_t n);/* regions may overlap */
int memcmp(const void *a, const void *b, size_t n); /* <0, 0, >0 like ISO C */
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);          /* stops at max */
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
