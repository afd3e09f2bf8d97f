/*
 * siphash.c -- SipHash-2-4 (Aumasson and Bernstein) and its random key.
 */
#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include "log.h"
#include "siphash.h"

/* One SipHash round. */
#define SIPROUND do {							\
	v0 += v1; v1 = v1 << 13 | v1 >> 51; v1 ^= v0;			\
	v0 = v0 << 32 | v0 >> 32;					\
	v2 += v3; v3 = v3 << 16 | v3 >> 48; v3 ^= v2;			\
	v0 += v3; v3 = v3 << 21 | v3 >> 43; v3 ^= v0;			\
	v2 += v1; v1 = v1 << 17 | v1 >> 47; v1 ^= v2;			\
	v2 = v2 << 32 | v2 >> 32;					\
} while (0)

/* A fresh random key. */
void
siphash_key(uint64_t key[2])
{
	ssize_t	n;

	do {
		n = getrandom(key, 2 * sizeof key[0], 0);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)(2 * sizeof key[0]))
		fatal("getrandom: %s", strerror(errno));
}

/* SipHash-2-4 of len bytes at p under key. */
uint64_t
siphash(const uint64_t key[2], const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t		 v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t		 v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t		 v3 = 0x7465646279746573ULL ^ key[1];
	uint64_t		 m, b = (uint64_t)len << 56;
	size_t			 i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, s + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (; left > 0; left--)
		b |= (uint64_t)s[i + left - 1] << (8 * (left - 1));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return (v0 ^ v1 ^ v2 ^ v3);
}
