/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Incidents for security teams' pipelines: OCSF 1.2.0 and ECS 8.x, as
 * NDJSON. polq (export -o ocsf|ecs) and polrecd (--ocsf-stream) both read
 * the incident back from the store and render it here, so they agree.
 *
 * OCSF: one incident is one Detection Finding (class 2004) followed by one
 * record per recorded event and per flow: Process Activity (1007), File
 * System Activity (1001), Network Activity (4001). OCSF 1.2.0 has no place
 * for whole events inside a finding (evidences hold objects: process,
 * file, endpoints; finding_info.related_events holds references), so the
 * finding's evidences carry the violating objects, its
 * finding_info.related_events name each activity record by its
 * metadata.uid, and every activity record carries the finding's uid in
 * metadata.correlation_uid. README.md "OCSF and ECS" has the mapping.
 *
 * ECS: one document per incident (event.kind "alert"), its events and
 * flows under polrec.*.
 *
 * Untrusted bytes (render.h): valid UTF-8 passes; every byte of an
 * invalid sequence becomes U+FFFD and the exact bytes go, in base64, to
 * unmapped.polrec.raw_b64 (OCSF) or polrec.raw_b64 (ECS), keyed by the
 * dotted path of the field they belong to.
 */
#ifndef POLREC_OCSF_H
#define POLREC_OCSF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "schema/store.h"

#define PR_OCSF_VERSION "1.2.0"
#define PR_ECS_VERSION  "8.11.0"

enum pr_record_format {
	PR_FMT_OCSF = 1,
	PR_FMT_ECS = 2,
};

/* Render incident id as NDJSON into a malloc'd buffer (*out, *outlen,
 * every line ending in '\n'): OCSF, the finding first and then its
 * activity records; ECS, one line. Returns 0, 1 when there is no such
 * incident, -1 on a store error (pr_store_errmsg) or ENOMEM (errno). */
int pr_export_render(struct pr_store *s, int64_t id, enum pr_record_format fmt, char **out,
		     size_t *outlen);

/* The same, written to f. 0, 1 (no such incident), -1 (store error, or a
 * write error with errno set). */
int pr_ocsf_write_incident(FILE *f, struct pr_store *s, int64_t id);

/* Building blocks (the tests use them on records they build). The host
 * name and kernel release go into device/host; NULL = this machine's.
 * uid_prefix: a store-wide unique prefix of the finding uid (the store id);
 * the finding uid is "<uid_prefix>:<incident id>". Each renderer appends
 * its lines to the memstream-like buffer f. 0 or -1 (errno). */
struct pr_export_host {
	const char *hostname;
	const char *kernel;
	const char *uid_prefix;
};
int pr_ocsf_render_full(FILE *f, const struct pr_incident_full *full,
			const struct pr_export_host *h);

#endif /* POLREC_OCSF_H */
