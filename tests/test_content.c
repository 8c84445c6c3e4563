/* The shared content stream and its hash: every fold the CPU offers gives the
 * scalar fold's hash, however the data is cut into updates. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/content.h"

enum { LEN = 300000 };

static uint64_t scalar_hash(const uint8_t *buf, size_t len)
{
	cr_assert_eq(content_hash_use("scalar"), 0);
	uint64_t h = content_hash_buffer(buf, len);
	return h;
}

static void check_fold(const char *isa, const uint8_t *buf)
{
	static const size_t cuts[] = {1, 7, 63, 64, 65, 100, 4096, 65536, 131072, 299999};
	for (size_t len = 0; len <= LEN; len = len < 300 ? len + 1 : len * 3 + 17) {
		uint64_t want = scalar_hash(buf, len);
		cr_assert_eq(content_hash_use(isa), 0);
		struct content_hash h;
		content_hash_init(&h);
		content_hash_update(&h, buf, len);
		cr_assert_eq(content_hash_final(&h), want, "%s: length %zu in one piece",
		             isa ? isa : "best", len);
		for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
			if (cuts[c] > len)
				continue;
			content_hash_init(&h);
			content_hash_update(&h, buf, cuts[c]);
			content_hash_update(&h, buf + cuts[c], len - cuts[c]);
			cr_assert_eq(content_hash_final(&h), want, "%s: length %zu cut at %zu",
			             isa ? isa : "best", len, cuts[c]);
		}
		/* Odd pieces, so that the tail is carried across updates. */
		content_hash_init(&h);
		for (size_t off = 0; off < len; off += 97)
			content_hash_update(&h, buf + off, len - off < 97 ? len - off : 97);
		cr_assert_eq(content_hash_final(&h), want, "%s: length %zu in 97-byte pieces",
		             isa ? isa : "best", len);
	}
}

Test(content, every_fold_gives_the_scalar_hash)
{
	static const char *const isas[] = {"avx512", "avx2", "scalar"};
	uint8_t *buf = malloc(LEN);
	cr_assert_not_null(buf);
	content_fill(42, 3, buf, LEN);
	int tried = 0;
	for (int i = 0; i < 3; i++) {
		if (content_hash_use(isas[i]) != 0) {
			cr_log_info("this CPU has no %s: that fold is not tested here", isas[i]);
			continue;
		}
		check_fold(isas[i], buf);
		tried++;
	}
	check_fold(NULL, buf);
	cr_assert_eq(content_hash_use(NULL), 0);
	cr_assert_gt(tried, 1);
	free(buf);
}

Test(content, a_slice_from_any_offset_matches_the_stream)
{
	uint8_t whole[1003], slice[1000];
	content_fill(5, 0, whole, sizeof(whole));
	for (size_t off = 0; off < 3; off++) {
		content_fill(5, off, slice, sizeof(slice));
		cr_assert_eq(memcmp(slice, whole + off, sizeof(slice)), 0, "offset %zu", off);
	}
	content_fill(6, 0, slice, sizeof(slice));
	cr_assert_neq(memcmp(slice, whole, sizeof(slice)), 0, "another seed, other bytes");
}

Test(content, the_expected_hash_is_the_hash_of_the_stream)
{
	uint8_t *buf = malloc(200001);
	content_fill(77, 0, buf, 200001);
	cr_assert_eq(content_expected_hash(77, 200001), content_hash_buffer(buf, 200001));
	cr_assert_neq(content_expected_hash(77, 200001), content_expected_hash(77, 200000));
	free(buf);
}
