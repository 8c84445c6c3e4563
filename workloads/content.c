#include "content.h"

#include <string.h>

#include "workload.h"

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
