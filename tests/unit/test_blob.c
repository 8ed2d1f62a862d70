// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* zstd blobs: round trips, and hostile input refused without a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "schema/store.h"

static void roundtrip(const void *src, size_t len)
{
	void *packed, *out;
	size_t plen, olen;

	assert_int_equal(pr_blob_pack(src, len, &packed, &plen), 0);
	assert_non_null(packed);
	assert_true(plen > 0);
	assert_int_equal(pr_blob_unpack(packed, plen, len, &out, &olen), 0);
	assert_int_equal(olen, len);
	if (len)
		assert_memory_equal(out, src, len);
	assert_int_equal(((char *)out)[olen], '\0'); /* NUL added, not counted */
	free(out);
	/* one byte less room than the content: refused */
	if (len) {
		assert_int_equal(pr_blob_unpack(packed, plen, len - 1, &out, &olen), -1);
		assert_null(out);
		assert_int_equal(olen, 0);
	}
	free(packed);
}

static void test_roundtrip_small(void **state)
{
	static const char argv[] = "/bin/sh\0-c\0echo\nhi\xff\xfe\0";

	roundtrip(argv, sizeof(argv) - 1);
	roundtrip("x", 1);
}

static void test_roundtrip_empty(void **state)
{
	roundtrip("", 0);
	roundtrip(NULL, 0);
}

static void test_roundtrip_large(void **state)
{
	size_t len = 1 << 20;
	unsigned char *buf = malloc(len);
	uint32_t x = 12345;

	assert_non_null(buf);
	for (size_t i = 0; i < len; i++) { /* half noise, half runs */
		x = x * 1103515245 + 12345;
		buf[i] = i & 0x1000 ? (unsigned char)(x >> 16) : (unsigned char)(i >> 13);
	}
	roundtrip(buf, len);
	free(buf);
}

static void test_pack_null_with_len(void **state)
{
	void *out = (void *)1;
	size_t olen = 1;

	assert_int_equal(pr_blob_pack(NULL, 5, &out, &olen), -1);
	assert_null(out);
	assert_int_equal(olen, 0);
}

static void test_unpack_empty_or_null(void **state)
{
	void *out;
	size_t olen;

	assert_int_equal(pr_blob_unpack(NULL, 0, 100, &out, &olen), -1);
	assert_null(out);
	assert_int_equal(pr_blob_unpack("", 0, 100, &out, &olen), -1);
	assert_null(out);
}

static void test_unpack_truncated(void **state)
{
	char src[4096];
	void *packed, *out;
	size_t plen, olen;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (char)(i * 7 + (i >> 5));
	assert_int_equal(pr_blob_pack(src, sizeof(src), &packed, &plen), 0);
	for (size_t cut = 1; cut < plen; cut++) {
		assert_int_equal(pr_blob_unpack(packed, cut, sizeof(src), &out, &olen), -1);
		assert_null(out);
	}
	free(packed);
}

static void test_unpack_garbage(void **state)
{
	unsigned char junk[512];
	void *out;
	size_t olen;
	uint32_t x = 99;

	for (int round = 0; round < 200; round++) {
		size_t n = 1 + (size_t)round * 2;

		for (size_t i = 0; i < n; i++) {
			x = x * 1664525 + 1013904223;
			junk[i] = (unsigned char)(x >> 24);
		}
		assert_int_equal(pr_blob_unpack(junk, n, 1 << 20, &out, &olen), -1);
		assert_null(out);
	}
}

/* A frame header with the zstd magic, a huge content size, then nothing. */
static void test_unpack_lying_header(void **state)
{
	static const unsigned char hdr[] = {
		0x28, 0xb5, 0x2f, 0xfd, /* magic */
		0xe0,                   /* FCS 8 bytes, single segment */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
		0x01, 0x00, 0x00,       /* last raw block of size 0 */
	};
	void *out;
	size_t olen;

	assert_int_equal(pr_blob_unpack(hdr, sizeof(hdr), 1 << 20, &out, &olen), -1);
	assert_null(out);
}

/* Flipping bytes in the middle of a frame never crashes and never yields
 * more than max; it is either refused or (in raw blocks) a same-size result. */
static void test_unpack_bitflips(void **state)
{
	char src[2000];
	void *packed, *out;
	size_t plen, olen;

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = "polrec \n\xff"[i % 9];
	assert_int_equal(pr_blob_pack(src, sizeof(src), &packed, &plen), 0);
	for (size_t i = 0; i < plen; i++) {
		unsigned char *b = packed;

		b[i] ^= 0x5a;
		if (pr_blob_unpack(packed, plen, sizeof(src), &out, &olen) == 0) {
			assert_true(olen <= sizeof(src));
			free(out);
		} else {
			assert_null(out);
		}
		b[i] ^= 0x5a;
	}
	free(packed);
}

static void test_unpack_trailing_and_two_frames(void **state)
{
	void *packed, *out;
	size_t plen, olen;
	char *two;

	assert_int_equal(pr_blob_pack("hello", 5, &packed, &plen), 0);
	two = malloc(plen * 2);
	assert_non_null(two);
	memcpy(two, packed, plen);
	memcpy(two + plen, packed, plen);
	assert_int_equal(pr_blob_unpack(two, plen * 2, 100, &out, &olen), -1);
	assert_null(out);
	two[plen] = 'x';
	assert_int_equal(pr_blob_unpack(two, plen + 1, 100, &out, &olen), -1);
	assert_null(out);
	free(two);
	free(packed);
}

/* A frame without a content size (streamed): still bounded by max. */
static void *pack_streamed(const void *src, size_t len, size_t *outlen)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(len) + 64;
	char *buf = malloc(cap);
	ZSTD_inBuffer in = { src, len, 0 };
	ZSTD_outBuffer ob = { buf, cap, 0 };
	size_t r;

	assert_non_null(cc);
	assert_non_null(buf);
	assert_int_equal(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0), 0);
	do {
		r = ZSTD_compressStream2(cc, &ob, &in, ZSTD_e_end);
		assert_false(ZSTD_isError(r));
	} while (r != 0);
	ZSTD_freeCCtx(cc);
	*outlen = ob.pos;
	return buf;
}

static void test_unpack_unknown_size(void **state)
{
	size_t len = 300000, plen, olen;
	char *src = malloc(len);
	void *packed, *out;

	assert_non_null(src);
	for (size_t i = 0; i < len; i++)
		src[i] = (char)(i % 251);
	packed = pack_streamed(src, len, &plen);
	assert_int_equal(ZSTD_getFrameContentSize(packed, plen), ZSTD_CONTENTSIZE_UNKNOWN);

	assert_int_equal(pr_blob_unpack(packed, plen, len, &out, &olen), 0);
	assert_int_equal(olen, len);
	assert_memory_equal(out, src, len);
	free(out);

	assert_int_equal(pr_blob_unpack(packed, plen, len - 1, &out, &olen), -1);
	assert_null(out);
	assert_int_equal(pr_blob_unpack(packed, plen, 1000, &out, &olen), -1);
	assert_null(out);
	assert_int_equal(pr_blob_unpack(packed, plen - 3, len, &out, &olen), -1);
	assert_null(out);
	free(packed);

	packed = pack_streamed("", 0, &plen);
	assert_int_equal(pr_blob_unpack(packed, plen, 0, &out, &olen), 0);
	assert_int_equal(olen, 0);
	free(out);
	free(packed);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_small),
		cmocka_unit_test(test_roundtrip_empty),
		cmocka_unit_test(test_roundtrip_large),
		cmocka_unit_test(test_pack_null_with_len),
		cmocka_unit_test(test_unpack_empty_or_null),
		cmocka_unit_test(test_unpack_truncated),
		cmocka_unit_test(test_unpack_garbage),
		cmocka_unit_test(test_unpack_lying_header),
		cmocka_unit_test(test_unpack_bitflips),
		cmocka_unit_test(test_unpack_trailing_and_two_frames),
		cmocka_unit_test(test_unpack_unknown_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
