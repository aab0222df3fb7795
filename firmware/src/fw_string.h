/* The few string.h functions the firmware uses, declared here: string.h is not a freestanding
 * header (C99 4p6) and bare-metal toolchains may not ship one. Boards link
 * boards/common/libc_min.c; the host build gets them from its C library. */
#ifndef FW_STRING_H
#define FW_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
