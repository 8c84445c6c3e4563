#include "lib/content.h"

#include <stdbool.h>
#include <string.h>

#include "lib/checksum.h"

static const uint64_t lane_key[8] = {
    0x243f6a8885a308d3ull, 0x13198a2e03707344ull, 0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull,
    0x452821e638d01377ull, 0xbe5466cf34e90c6cull, 0xc0ac29b7c97c50ddull, 0x3f84d5b5b5470917ull,
};

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, sizeof(v));
}

uint64_t content_word(uint64_t seed, uint64_t index)
{
	return checksum_mix(seed * 0xd1b54a32d192ed03ull ^ index);
}

void content_fill(uint64_t seed, uint64_t offset, void *buf, size_t n)
{
	uint8_t *out = buf;
	uint64_t index = offset / 8;
	size_t skip = (size_t)(offset % 8);

	if (skip != 0 && n > 0) {
		uint8_t word[8];
		store_le64(word, content_word(seed, index++));
		size_t take = 8 - skip < n ? 8 - skip : n;
		memcpy(out, word + skip, take);
		out += take;
		n -= take;
	}
	for (; n >= 8; n -= 8, out += 8)
		store_le64(out, content_word(seed, index++));
	if (n > 0) {
		uint8_t word[8];
		store_le64(word, content_word(seed, index));
		memcpy(out, word, n);
	}
}

static inline void hash_stripes(uint64_t acc[8], const uint8_t *p, size_t stripes)
{
	for (size_t s = 0; s < stripes; s++, p += CONTENT_STRIPE) {
		for (int j = 0; j < 8; j++) {
			uint64_t v = load_le64(p + 8 * j);
			uint64_t k = v ^ lane_key[j];
			acc[j] += (k & 0xffffffffu) * (k >> 32) + v;
		}
	}
}

/* ---- the stripe fold, vectorised ---------------------------------------------------
 * The same fold as hash_stripes, which the compiler leaves scalar: without it
 * hashing, not reading, would bound a warm file read (about 17 GB/s scalar).
 * Lane sums are taken modulo 2^64, so splitting them over two accumulators
 * gives the same result. tests/test_content.c holds every path equal. */

typedef void (*stripes_fn)(uint64_t acc[8], const uint8_t *p, size_t stripes);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void stripes_avx512(uint64_t acc[8], const uint8_t *p,
                                                              size_t stripes)
{
	const __m512i key = _mm512_loadu_si512(lane_key);
	__m512i a0 = _mm512_loadu_si512(acc), a1 = _mm512_setzero_si512();
	size_t s = 0;
	for (; s + 2 <= stripes; s += 2, p += 2 * CONTENT_STRIPE) {
		__m512i v0 = _mm512_loadu_si512(p), v1 = _mm512_loadu_si512(p + CONTENT_STRIPE);
		__m512i k0 = _mm512_xor_si512(v0, key), k1 = _mm512_xor_si512(v1, key);
		a0 = _mm512_add_epi64(
		    a0, _mm512_add_epi64(_mm512_mul_epu32(k0, _mm512_srli_epi64(k0, 32)), v0));
		a1 = _mm512_add_epi64(
		    a1, _mm512_add_epi64(_mm512_mul_epu32(k1, _mm512_srli_epi64(k1, 32)), v1));
	}
	if (s < stripes) {
		__m512i v0 = _mm512_loadu_si512(p);
		__m512i k0 = _mm512_xor_si512(v0, key);
		a0 = _mm512_add_epi64(
		    a0, _mm512_add_epi64(_mm512_mul_epu32(k0, _mm512_srli_epi64(k0, 32)), v0));
	}
	_mm512_storeu_si512(acc, _mm512_add_epi64(a0, a1));
}

__attribute__((target("avx2"))) static void stripes_avx2(uint64_t acc[8], const uint8_t *p,
                                                         size_t stripes)
{
	const __m256i klo = _mm256_loadu_si256((const __m256i *)lane_key);
	const __m256i khi = _mm256_loadu_si256((const __m256i *)(lane_key + 4));
	__m256i alo = _mm256_loadu_si256((const __m256i *)acc);
	__m256i ahi = _mm256_loadu_si256((const __m256i *)(acc + 4));
	for (size_t s = 0; s < stripes; s++, p += CONTENT_STRIPE) {
		__m256i vlo = _mm256_loadu_si256((const __m256i *)p);
		__m256i vhi = _mm256_loadu_si256((const __m256i *)(p + 32));
		__m256i xlo = _mm256_xor_si256(vlo, klo), xhi = _mm256_xor_si256(vhi, khi);
		alo = _mm256_add_epi64(
		    alo, _mm256_add_epi64(_mm256_mul_epu32(xlo, _mm256_srli_epi64(xlo, 32)), vlo));
		ahi = _mm256_add_epi64(
		    ahi, _mm256_add_epi64(_mm256_mul_epu32(xhi, _mm256_srli_epi64(xhi, 32)), vhi));
	}
	_mm256_storeu_si256((__m256i *)acc, alo);
	_mm256_storeu_si256((__m256i *)(acc + 4), ahi);
}

/* What content_hash_use chose; NULL: the best the CPU has. */
static const char *hash_isa;

static stripes_fn fast_stripes(void)
{
	bool any = hash_isa == NULL;
	if ((any || strcmp(hash_isa, "avx512") == 0) && __builtin_cpu_supports("avx512f"))
		return stripes_avx512;
	if ((any || strcmp(hash_isa, "avx2") == 0) && __builtin_cpu_supports("avx2"))
		return stripes_avx2;
	return NULL;
}

int content_hash_use(const char *isa)
{
	if (isa != NULL && strcmp(isa, "scalar") != 0 &&
	    !(strcmp(isa, "avx512") == 0 && __builtin_cpu_supports("avx512f")) &&
	    !(strcmp(isa, "avx2") == 0 && __builtin_cpu_supports("avx2")))
		return -1;
	hash_isa = isa;
	return 0;
}
#else
static stripes_fn fast_stripes(void)
{
	return NULL;
}

int content_hash_use(const char *isa)
{
	return isa == NULL || strcmp(isa, "scalar") == 0 ? 0 : -1;
}
#endif

void content_hash_init(struct content_hash *h)
{
	memset(h, 0, sizeof(*h));
	for (int j = 0; j < 8; j++)
		h->acc[j] = lane_key[7 - j];
}

void content_hash_update(struct content_hash *h, const void *data, size_t n)
{
	const uint8_t *p = data;
	h->total += n;
	if (h->tail_len > 0) {
		size_t take = CONTENT_STRIPE - h->tail_len < n ? CONTENT_STRIPE - h->tail_len : n;
		memcpy(h->tail + h->tail_len, p, take);
		h->tail_len += take;
		p += take;
		n -= take;
		if (h->tail_len < CONTENT_STRIPE)
			return;
		hash_stripes(h->acc, h->tail, 1);
		h->tail_len = 0;
	}
	size_t stripes = n / CONTENT_STRIPE;
	stripes_fn fast = fast_stripes();
	if (fast != NULL)
		fast(h->acc, p, stripes);
	else
		hash_stripes(h->acc, p, stripes);
	p += stripes * CONTENT_STRIPE;
	n -= stripes * CONTENT_STRIPE;
	memcpy(h->tail, p, n);
	h->tail_len = n;
}

uint64_t content_hash_final(const struct content_hash *h)
{
	uint64_t acc[8];
	memcpy(acc, h->acc, sizeof(acc));
	if (h->tail_len > 0) {
		uint8_t last[CONTENT_STRIPE] = {0};
		memcpy(last, h->tail, h->tail_len);
		hash_stripes(acc, last, 1);
	}
	uint64_t x = checksum_mix(h->total);
	for (int j = 0; j < 8; j++)
		x = checksum_mix(x ^ acc[j]);
	return x;
}

uint64_t content_hash_buffer(const void *data, size_t n)
{
	struct content_hash h;
	content_hash_init(&h);
	content_hash_update(&h, data, n);
	return content_hash_final(&h);
}

uint64_t content_expected_hash(uint64_t seed, uint64_t size)
{
	uint8_t chunk[16384];
	struct content_hash h;
	content_hash_init(&h);
	for (uint64_t off = 0; off < size; off += sizeof(chunk)) {
		size_t n = size - off < sizeof(chunk) ? (size_t)(size - off) : sizeof(chunk);
		content_fill(seed, off, chunk, n);
		content_hash_update(&h, chunk, n);
	}
	return content_hash_final(&h);
}
