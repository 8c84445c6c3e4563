/* What the workloads hand their Python twins (py/workloads/) to check bytes
 * against: SHA-256 digests, which the interpreter computes in C (hashlib)
 * where the content hash would be too slow in pure Python. */
#ifndef CONCBENCH_TWIN_H
#define CONCBENCH_TWIN_H

#include <stddef.h>
#include <stdint.h>

#define TWIN_SHA256_HEX 65

struct twin_sha256;

/* A running SHA-256: begin, update as many times as needed, end into hex.
 * begin returns NULL when OpenSSL cannot make one. */
struct twin_sha256 *twin_sha256_begin(void);
void twin_sha256_update(struct twin_sha256 *s, const void *data, size_t n);
int twin_sha256_end(struct twin_sha256 *s, char hex[TWIN_SHA256_HEX]);

/* The SHA-256 of bytes [0, size) of content stream `seed` (lib/content.h). */
int twin_content_sha256(uint64_t seed, uint64_t size, char hex[TWIN_SHA256_HEX]);

#endif
