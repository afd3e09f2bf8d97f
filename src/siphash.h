/*
 * siphash.h -- SipHash-2-4 keyed with a random secret, for hash tables
 * whose keys come from clients (session keys, client addresses): without
 * the secret nobody can choose keys that collide.
 */
#ifndef JANITOR_SIPHASH_H
#define JANITOR_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* A fresh random key (getrandom(2); failing is fatal). */
void		siphash_key(uint64_t key[2]);

/* SipHash-2-4 of len bytes at s under key. */
uint64_t	siphash(const uint64_t key[2], const void *s, size_t len);

#endif
