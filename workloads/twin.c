/* SHA-256 digests for the Python twins (workloads/twin.h), with OpenSSL. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/content.h"
#include "workloads/twin.h"

struct twin_sha256 {
	EVP_MD_CTX *md;
};

struct twin_sha256 *twin_sha256_begin(void)
{
	struct twin_sha256 *s = malloc(sizeof(*s));
	if (s == NULL)
		return NULL;
	s->md = EVP_MD_CTX_new();
	if (s->md == NULL || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s->md);
		free(s);
		return NULL;
	}
	return s;
}

void twin_sha256_update(struct twin_sha256 *s, const void *data, size_t n)
{
	EVP_DigestUpdate(s->md, data, n);
}

int twin_sha256_end(struct twin_sha256 *s, char hex[TWIN_SHA256_HEX])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int ok = EVP_DigestFinal_ex(s->md, digest, &len) == 1 && len == 32;
	EVP_MD_CTX_free(s->md);
	free(s);
	for (unsigned i = 0; ok && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return ok ? 0 : -1;
}

int twin_content_sha256(uint64_t seed, uint64_t size, char hex[TWIN_SHA256_HEX])
{
	enum { CHUNK = 1 << 20 };
	struct twin_sha256 *s = twin_sha256_begin();
	unsigned char *buf = malloc(CHUNK);
	if (s == NULL || buf == NULL) {
		free(buf);
		if (s != NULL)
			twin_sha256_end(s, hex);
		return -1;
	}
	for (uint64_t off = 0; off < size; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		content_fill(seed, off, buf, n);
		twin_sha256_update(s, buf, n);
	}
	free(buf);
	return twin_sha256_end(s, hex);
}
