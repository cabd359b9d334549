/* Memory and string functions for user programs. The first group is the
 * kernel's lib/string.c compiled into libsys (same contracts); the compiler
 * may emit calls to memcpy/memset/memmove/memcmp itself. */
#pragma once

#include <stddef.h>

void *memset(void *dst, int c, size_t n);           /* fill n bytes */
void *memcpy(void *dst, const void *src, size_t n); /* regions must not overlap */
void *memmove(void *dst, const void *src, size_t n);/* regions may overlap */
int memcmp(const void *a, const void *b, size_t n); /* <0, 0, >0 like ISO C */
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);          /* stops at max */
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* First occurrence of c (converted to char) in s, the terminating NUL
 * included; NULL if none. */
char *strchr(const char *s, int c);

/* First byte equal to c (converted to unsigned char) in s[0..n); NULL if
 * none. */
void *memchr(const void *s, int c, size_t n);

/* Copy src into dst[size], truncating, always NUL-terminated when
 * size > 0. Returns strlen(src) (truncation happened if >= size). */
size_t strlcpy(char *dst, const char *src, size_t size);
