// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * zstd blobs: one zstd frame per blob, with the content size in the frame
 * header. Unpacking never trusts the blob: it must be exactly one frame,
 * its output is bounded by the caller's max, and the result is checked
 * against the size the frame announces.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "schema/store.h"

#define PR_BLOB_LEVEL 3
#define PR_BLOB_STREAM_CHUNK (64 * 1024)

/* One compression context per thread, kept: creating one per blob costs
 * more than compressing a typical argv. Freed when the thread ends. */
static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;

static void cctx_free(void *c)
{
	ZSTD_freeCCtx(c);
}

static void cctx_key_init(void)
{
	pthread_key_create(&cctx_key, cctx_free);
}

static ZSTD_CCtx *thread_cctx(void)
{
	ZSTD_CCtx *c;

	pthread_once(&cctx_once, cctx_key_init);
	c = pthread_getspecific(cctx_key);
	if (!c) {
		c = ZSTD_createCCtx();
		if (c && pthread_setspecific(cctx_key, c)) {
			ZSTD_freeCCtx(c);
			c = NULL;
		}
	}
	return c;
}

int pr_blob_pack(const void *src, size_t len, void **out, size_t *outlen)
{
	ZSTD_CCtx *cctx = thread_cctx();
	size_t cap = ZSTD_compressBound(len);
	size_t n;
	void *buf, *shrunk;

	*out = NULL;
	*outlen = 0;
	if (!src && len)
		return -1;
	if (ZSTD_isError(cap) || !cctx)
		return -1;
	buf = malloc(cap);
	if (!buf)
		return -1;
	n = ZSTD_compressCCtx(cctx, buf, cap, src ? src : "", len, PR_BLOB_LEVEL);
	if (ZSTD_isError(n)) {
		free(buf);
		return -1;
	}
	shrunk = realloc(buf, n);
	*out = shrunk ? shrunk : buf;
	*outlen = n;
	return 0;
}

/* A frame whose header does not carry its size (not written by
 * pr_blob_pack, but valid zstd): stream it, stopping past max. */
static int unpack_unknown_size(const void *src, size_t len, size_t max,
			       char **out, size_t *outlen)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	ZSTD_inBuffer in = { src, len, 0 };
	size_t cap = 0, used = 0, ret = 1;
	char *buf = NULL;

	if (!ds)
		return -1;
	while (ret != 0) {
		ZSTD_outBuffer ob;

		if (used == cap) {
			size_t want = cap ? cap * 2 : PR_BLOB_STREAM_CHUNK;
			char *nb;

			if (cap > max) /* already holds more than max */
				goto fail;
			if (want > max + 1)
				want = max + 1;
			nb = realloc(buf, want + 1);
			if (!nb)
				goto fail;
			buf = nb;
			cap = want;
		}
		ob = (ZSTD_outBuffer){ buf, cap, used };
		ret = ZSTD_decompressStream(ds, &ob, &in);
		if (ZSTD_isError(ret))
			goto fail;
		used = ob.pos;
		if (used > max)
			goto fail;
		if (ret != 0 && in.pos == in.size && ob.pos < ob.size)
			goto fail; /* truncated: wants input we do not have */
	}
	if (in.pos != in.size)
		goto fail; /* trailing bytes after the frame */
	ZSTD_freeDStream(ds);
	if (!buf && !(buf = malloc(1)))
		return -1;
	buf[used] = '\0';
	*out = buf;
	*outlen = used;
	return 0;
fail:
	ZSTD_freeDStream(ds);
	free(buf);
	return -1;
}

/* On success *out is malloc'd, holds *outlen bytes plus a NUL not counted. */
int pr_blob_unpack(const void *src, size_t len, size_t max, void **out, size_t *outlen)
{
	unsigned long long size;
	size_t n;
	char *buf;

	*out = NULL;
	*outlen = 0;
	if (!src || len == 0)
		return -1;
	if (ZSTD_findFrameCompressedSize(src, len) != len)
		return -1; /* truncated, garbage, or more than one frame */
	size = ZSTD_getFrameContentSize(src, len);
	if (size == ZSTD_CONTENTSIZE_ERROR)
		return -1;
	if (size == ZSTD_CONTENTSIZE_UNKNOWN)
		return unpack_unknown_size(src, len, max, (char **)out, outlen);
	if (size > max || size >= SIZE_MAX)
		return -1;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return -1;
	n = ZSTD_decompress(buf, (size_t)size, src, len);
	if (ZSTD_isError(n) || n != size) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}
