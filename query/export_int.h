/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What query/ocsf.c and query/ecs.c share: one record under construction
 * (with the raw bytes of fields that were not valid UTF-8), and the
 * readings of store records both mappings need. Not for other callers.
 */
#ifndef POLREC_EXPORT_INT_H
#define POLREC_EXPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/ecs.h"
#include "query/ocsf.h"
#include "schema/store.h"

struct json_object;

/* One record being built. Constructors never fail loudly: an allocation
 * failure sets oom, and the record is thrown away at the end. */
struct xrec {
	struct json_object *raw; /* "dotted.path" -> base64 of the exact bytes */
	bool oom;
};

/* o[key] = v (v NULL marks oom); returns v. */
struct json_object *x_add(struct xrec *r, struct json_object *o, const char *key,
			  struct json_object *v);
/* o[key] = s[0..len) as UTF-8 text (invalid bytes U+FFFD); when it was not
 * valid, r->raw["<where>.<key>"] = base64 of the bytes. s NULL is "". */
void x_bytes(struct xrec *r, struct json_object *o, const char *where, const char *key,
	     const char *s, size_t len);
void x_str(struct xrec *r, struct json_object *o, const char *where, const char *key,
	   const char *s);
/* Append s to arr likewise; its raw bytes under r->raw[where]. */
void x_arr_str(struct xrec *r, struct json_object *arr, const char *where, const char *s);
void x_int(struct xrec *r, struct json_object *o, const char *key, int64_t v);
struct json_object *x_obj(struct xrec *r, struct json_object *o, const char *key);
struct json_object *x_arr(struct xrec *r, struct json_object *o, const char *key);
/* "where.key" into buf */
const char *x_path(char *buf, size_t len, const char *where, const char *key);

/* The last path component (the whole string when it has no '/'). */
const char *x_basename(const char *path);
/* argv words joined by single spaces, malloc'd; *len set. */
char *x_cmdline(const struct pr_proc_rec *p, size_t *len);

/* The recorded process (pid, start_boot) among the incident's lineage and
 * its violator; NULL when it is not there. *idx: its lineage index (or
 * SIZE_MAX for the violator record). */
const struct pr_proc_rec *x_find_proc(const struct pr_incident_full *f, uint32_t pid,
				      uint64_t start_boot, size_t *idx);

/* A network event's path as the recorder writes it:
 * "tcp 127.0.0.1:40000 -> 10.0.0.2:80", "tcp [::1]:80 <- [::1]:5000",
 * "udp 0.0.0.0:53". local/remote "" when absent. 0, or -1 when it does
 * not read like that. */
struct x_net {
	char proto[8];
	char local[64], remote[64];
	uint16_t lport, rport;
	bool inbound; /* "<-": remote connected to local */
};
int x_parse_net(const char *path, struct x_net *out);
bool x_is_net_kind(const char *kind);
bool x_is_file_kind(const char *kind);

/* epoch ns -> ms */
static inline int64_t x_ms(uint64_t ns)
{
	return (int64_t)(ns / 1000000ull);
}

/* The host: name and kernel release of this machine when h leaves them
 * NULL. */
struct x_host {
	char hostname[256];
	char kernel[128];
	char uid_prefix[320];
	bool virtual_machine;
};
void x_host_fill(struct x_host *out, const struct pr_export_host *h);

/* Print o as one line (plain JSON, '/' not escaped) and '\n'; puts o. */
int x_emit(FILE *f, struct json_object *o);

#endif /* POLREC_EXPORT_INT_H */
