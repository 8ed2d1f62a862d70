/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * An incident as one Elastic Common Schema (8.x) document: the alert
 * (event.kind "alert"), the violator as process.* with its parent, the
 * object as file.* or source/destination/network.*, the host, and what
 * ECS has no field for under polrec.* (the expectation, lineage, events,
 * flows, gaps, lost events). query/ocsf.h has the NDJSON entry points
 * (pr_export_render with PR_FMT_ECS) and the rules for untrusted bytes.
 */
#ifndef POLREC_ECS_H
#define POLREC_ECS_H

#include "query/ocsf.h"

/* The incident as one ECS line to f; 0, 1 (no such incident), -1. */
int pr_ecs_write_incident(FILE *f, struct pr_store *s, int64_t id);
/* Append the document of full to f (see pr_ocsf_render_full). 0 or -1. */
int pr_ecs_render_full(FILE *f, const struct pr_incident_full *full,
		       const struct pr_export_host *h);

#endif /* POLREC_ECS_H */
