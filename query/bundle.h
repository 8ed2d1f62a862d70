/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * `polq export ID -o DIR`: an incident bundle a clean host can check.
 *
 *   DIR/incident.json    polq show --json
 *   DIR/incident.pcap    polq pcap (classic)
 *   DIR/incident.pcapng  polq pcap --pcapng
 *   DIR/chain.json       the incident's chain records (incident, append,
 *                        flow): seq, time, kind, ref, first_row, nrows,
 *                        content_sha256 (the canonical bytes' digest), prev,
 *                        hash and preimage_hex (hash = SHA-256(preimage),
 *                        the preimage ending in prev and content), plus the
 *                        chain head when exported
 *   DIR/MANIFEST         sha256sum format, one line per file above
 *
 * `polq verify-bundle DIR` needs no store: it rehashes the files listed in
 * MANIFEST and checks chain.json's records against their preimages.
 */
#ifndef POLREC_BUNDLE_H
#define POLREC_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/store.h"

/* 0 written, 1 no such incident, 2 DIR exists (no force), -1 error (err). */
int pr_bundle_write(struct pr_store *s, int64_t id, const char *dir, bool force,
		    char *err, size_t errlen);

/* 0 sound (*files, *records counted), 1 tampered (msg names the first bad
 * file or record), -1 not a readable bundle (msg). */
int pr_bundle_verify(const char *dir, int *files, int *records, char *msg, size_t n);

#endif /* POLREC_BUNDLE_H */
