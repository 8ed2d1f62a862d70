/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Helpers shared by the libFuzzer targets in tests/fuzz/: temporary
 * directories, a small but complete store written through the real store
 * layer, a byte reader for structured inputs, and the output checks
 * (valid UTF-8, JSON that json-c parses, text with no raw control bytes).
 * A failed check calls abort() so libFuzzer reports it as a crash.
 */
#ifndef POLREC_FUZZ_COMMON_H
#define POLREC_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A fresh private directory under $TMPDIR (or /tmp), removed at exit.
 * tag names it: polrec-fuzz-TAG.XXXXXX. Aborts on failure. */
char *fz_tempdir(const char *tag);
/* Remove dir and everything below it (no symlink is followed). */
void fz_rmtree(const char *dir);
/* Write len bytes to path (created 0600, truncated). Aborts on failure. */
void fz_write_file(const char *path, const void *data, size_t len);

/* Create a store in dir (PR_STORE_WRITE) with a file incident (hostile
 * names, a 3-deep lineage, context/violation/joined events), a network
 * incident with two flows and packets in a pcap segment, and a loss
 * record. Aborts on failure. */
void fz_make_store(const char *dir);

/* A reader of fuzz input as a stream of integers and byte strings. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};
uint8_t fz_u8(struct fz_in *in);
uint32_t fz_u32(struct fz_in *in);
uint64_t fz_u64(struct fz_in *in);
/* A NUL-terminated string of up to max bytes (no NUL inside) taken from
 * the input; malloc'd and remembered in a pool freed by fz_pool_free(). */
char *fz_str(struct fz_in *in, size_t max);
/* Raw bytes (NULs allowed), *len set; pooled like fz_str. */
char *fz_bytes(struct fz_in *in, size_t max, size_t *len);
void fz_pool_free(void);

/* Checks; each aborts (after printing why and the offending output) when
 * the property does not hold. */
void fz_check_utf8(const char *what, const char *s, size_t len);
/* Each '\n'-terminated line of s[0..len) is one JSON object json-c parses
 * and valid UTF-8; there are exactly `lines` lines when lines >= 0. */
void fz_check_json_lines(const char *what, const char *s, size_t len, long lines);
/* Text output: valid UTF-8, no C0 control but '\n', no DEL, no C1
 * control, no bidi/line-separator code point; exactly `lines` lines when
 * lines >= 0. */
void fz_check_text(const char *what, const char *s, size_t len, long lines);

#endif /* POLREC_FUZZ_COMMON_H */
