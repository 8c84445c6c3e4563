/* Deterministic content and a fast streaming hash over it, shared by the
 * fixture HTTP server (which generates bodies), the http workload (which
 * verifies them) and the files workload (which generates and reads files).
 *
 * Content: the byte at offset o of stream `seed` is byte (o % 8) of the
 * little-endian 64-bit word content_word(seed, o / 8). Anyone can regenerate
 * any slice from (seed, offset) alone, so nothing has to be stored to verify.
 *
 * Hash: 64-byte stripes folded into eight 64-bit lanes with a 32x32->64
 * multiply (which compilers vectorise), the tail zero-padded, the length mixed
 * in at the end. It is not cryptographic; it only has to make a lost, doubled
 * or corrupted byte visible, and to run near memory speed so that hashing
 * does not hide the I/O being measured. The result does not depend on how the
 * stream is cut into updates. */
#ifndef CONCBENCH_CONTENT_H
#define CONCBENCH_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#define CONTENT_STRIPE 64

uint64_t content_word(uint64_t seed, uint64_t index);
/* Fill buf with n bytes of stream `seed` starting at byte `offset`. */
void content_fill(uint64_t seed, uint64_t offset, void *buf, size_t n);

struct content_hash {
	uint64_t acc[8];
	uint64_t total; /* bytes hashed */
	uint8_t tail[CONTENT_STRIPE];
	size_t tail_len;
};

void content_hash_init(struct content_hash *h);
void content_hash_update(struct content_hash *h, const void *data, size_t n);
uint64_t content_hash_final(const struct content_hash *h);
/* Which stripe fold content_hash_update uses: "avx512", "avx2", "scalar",
 * or NULL for the best this CPU has (the default). -1 when the CPU lacks it.
 * For tests: every fold gives the same hash. */
int content_hash_use(const char *isa);
/* One-shot hash of a buffer. */
uint64_t content_hash_buffer(const void *data, size_t n);
/* The hash of the first `size` bytes of stream `seed`, computed by generating them. */
uint64_t content_expected_hash(uint64_t seed, uint64_t size);

#endif
