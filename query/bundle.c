// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Incident bundles: polq export and polq verify-bundle (see bundle.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "query/bundle.h"
#include "query/export.h"
#include "query/render.h"
#include "schema/chain.h"

static const char *const bundle_files[] = {
	"incident.json", "incident.pcap", "incident.pcapng", "chain.json",
};
#define NFILES (sizeof(bundle_files) / sizeof(bundle_files[0]))
#define MANIFEST "MANIFEST"

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

static FILE *create_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "wb")))
		close(fd);
	return f;
}

static int sha256_at(int dfd, const char *name, uint8_t out[PR_SHA256_LEN])
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	rc = pr_sha256_fd(fd, out);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

static int put_hex(struct json_object *o, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * PR_CHAIN_PREIMAGE_MAX + 1];

	pr_hex(p, n, hex);
	return json_object_object_add(o, key, json_object_new_string(hex));
}

static int record_cb(const struct pr_chain_rec *r, void *arg)
{
	struct json_object *a = arg, *o = json_object_new_object();
	uint8_t pre[PR_CHAIN_PREIMAGE_MAX];
	size_t n = pr_chain_preimage(r, pre);

	if (!o)
		return 1;
	json_object_object_add(o, "seq", json_object_new_int64(r->seq));
	json_object_object_add(o, "time_ns", json_object_new_int64((int64_t)r->time));
	json_object_object_add(o, "kind", json_object_new_string(r->kind));
	json_object_object_add(o, "ref", json_object_new_int64(r->ref));
	json_object_object_add(o, "first_row", json_object_new_int64(r->first_row));
	json_object_object_add(o, "nrows", json_object_new_int64(r->nrows));
	put_hex(o, "content_sha256", r->content, PR_SHA256_LEN);
	put_hex(o, "prev", r->prev, PR_SHA256_LEN);
	put_hex(o, "hash", r->hash, PR_SHA256_LEN);
	put_hex(o, "preimage_hex", pre, n);
	if (r->gone)
		json_object_object_add(o, "pruned_by", json_object_new_int64(r->gone));
	json_object_array_add(a, o);
	return 0;
}

static struct json_object *chain_json(struct pr_store *s, int64_t id, char *err, size_t n)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array(), *h;
	uint8_t hash[PR_SHA256_LEN];
	char sid[33];
	int64_t seq;

	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		fail(err, n, "out of memory");
		return NULL;
	}
	json_object_object_add(o, "incident", json_object_new_int64(id));
	if (pr_store_schema_version(s) < PR_CHAIN_SCHEMA) {
		json_object_object_add(o, "note", json_object_new_string(
			"the store has no hash chain (schema before 4)"));
		json_object_object_add(o, "records", a);
		return o;
	}
	if (pr_chain_head(s, &seq, hash, sid) ||
	    pr_chain_incident_records(s, id, record_cb, a) < 0) {
		json_object_put(o);
		json_object_put(a);
		fail(err, n, "%s", pr_store_errmsg(s));
		return NULL;
	}
	json_object_object_add(o, "store_id", json_object_new_string(sid));
	json_object_object_add(o, "records", a);
	h = json_object_new_object();
	json_object_object_add(h, "seq", json_object_new_int64(seq));
	put_hex(h, "hash", hash, PR_SHA256_LEN);
	json_object_object_add(o, "head", h);
	return o;
}

static int write_json(int dfd, const char *name, struct json_object *o)
{
	FILE *f = create_at(dfd, name);
	int rc;

	if (!f)
		return -1;
	rc = pr_json_print(f, o);
	if (fclose(f))
		rc = -1;
	return rc;
}

static int write_pcap(struct pr_store *s, int dfd, int64_t id, const char *name,
		      enum pr_export_format fmt, char *err, size_t n)
{
	FILE *f = create_at(dfd, name);

	if (!f)
		return fail(err, n, "%s: %s", name, strerror(errno));
	return pr_export_incident(s, id, f, fmt, err, n) < 0 ? -1 : 0;
}

static int write_manifest(int dfd, char *err, size_t n)
{
	uint8_t h[PR_SHA256_LEN];
	char hex[65];
	FILE *f;
	int rc = 0;

	for (size_t i = 0; i < NFILES; i++)
		if (sha256_at(dfd, bundle_files[i], h))
			return fail(err, n, "%s: %s", bundle_files[i], strerror(errno));
	if (!(f = create_at(dfd, MANIFEST)))
		return fail(err, n, MANIFEST ": %s", strerror(errno));
	for (size_t i = 0; i < NFILES && !rc; i++) {
		if (sha256_at(dfd, bundle_files[i], h)) {
			rc = -1;
			break;
		}
		pr_hex(h, sizeof(h), hex);
		rc = fprintf(f, "%s  %s\n", hex, bundle_files[i]) < 0 ? -1 : 0;
	}
	if (fclose(f))
		rc = -1;
	return rc ? fail(err, n, MANIFEST ": %s", strerror(errno ? errno : EIO)) : 0;
}

/* DIR: new (0700), or with force an existing real directory; never a symlink. */
static int open_dir(const char *dir, bool force, char *err, size_t n)
{
	struct stat st;
	int dfd;

	if (mkdir(dir, 0700)) {
		if (errno != EEXIST)
			return fail(err, n, "%s: %s", dir, strerror(errno));
		if (!force)
			return -2;
		if (lstat(dir, &st) || !S_ISDIR(st.st_mode))
			return fail(err, n, "%s: exists and is not a directory (or is a symlink)", dir);
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return fail(err, n, "%s: %s", dir, strerror(errno));
	return dfd;
}

int pr_bundle_write(struct pr_store *s, int64_t id, const char *dir, bool force,
		    char *err, size_t errlen)
{
	struct pr_incident_full *full = NULL;
	struct json_object *o;
	int rc, dfd;

	rc = pr_store_get_incident(s, id, &full);
	if (rc < 0)
		return fail(err, errlen, "%s", pr_store_errmsg(s));
	if (rc > 0)
		return 1;
	dfd = open_dir(dir, force, err, errlen);
	if (dfd < 0) {
		pr_incident_full_free(full);
		return dfd == -2 ? 2 : -1;
	}
	o = pr_json_incident_full(full);
	pr_incident_full_free(full);
	rc = o ? write_json(dfd, "incident.json", o) : -1;
	json_object_put(o);
	if (rc)
		fail(err, errlen, "incident.json: %s", strerror(errno ? errno : ENOMEM));
	rc = rc ?: write_pcap(s, dfd, id, "incident.pcap", PR_EXPORT_PCAP, err, errlen);
	rc = rc ?: write_pcap(s, dfd, id, "incident.pcapng", PR_EXPORT_PCAPNG, err, errlen);
	if (!rc) {
		o = chain_json(s, id, err, errlen);
		rc = o ? write_json(dfd, "chain.json", o) : -1;
		if (o && rc)
			fail(err, errlen, "chain.json: %s", strerror(errno ? errno : EIO));
		json_object_put(o);
	}
	rc = rc ?: write_manifest(dfd, err, errlen);
	close(dfd);
	return rc;
}

/* ---- verify-bundle ---- */

static char *read_at(int dfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf;
	ssize_t r;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	buf = malloc(max + 1);
	while (buf && n < max && (r = read(fd, buf + n, max - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static bool plain_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

/* Each record: SHA-256(preimage) = hash, and the preimage ends in prev, content. */
static int check_chain_json(int dfd, int *records, char *msg, size_t n)
{
	struct json_object *o, *a = NULL, *r;
	size_t len;
	char *text = read_at(dfd, "chain.json", 16 << 20, &len);
	int bad = 0;

	if (!text)
		return 0; /* not listed or missing: the manifest check says so */
	o = json_tokener_parse(text);
	free(text);
	if (!o || !json_object_object_get_ex(o, "records", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		json_object_put(o);
		snprintf(msg, n, "chain.json: not a chain record list");
		return 1;
	}
	for (size_t i = 0; !bad && i < json_object_array_length(a); i++) {
		uint8_t pre[PR_CHAIN_PREIMAGE_MAX], h[PR_SHA256_LEN], want[PR_SHA256_LEN];
		uint8_t prev[PR_SHA256_LEN], content[PR_SHA256_LEN];
		const char *ph, *hh, *pv, *ch;
		size_t plen;

		r = json_object_array_get_idx(a, i);
		ph = jstr(r, "preimage_hex");
		hh = jstr(r, "hash");
		pv = jstr(r, "prev");
		ch = jstr(r, "content_sha256");
		plen = ph ? strlen(ph) / 2 : 0;
		if (!ph || !hh || !pv || !ch || plen < 2 * PR_SHA256_LEN || plen > sizeof(pre) ||
		    pr_unhex(ph, pre, plen) || pr_unhex(hh, want, PR_SHA256_LEN) ||
		    pr_unhex(pv, prev, PR_SHA256_LEN) || pr_unhex(ch, content, PR_SHA256_LEN)) {
			snprintf(msg, n, "chain.json: record %zu is malformed", i);
			bad = 1;
		} else if (pr_sha256(pre, plen, h) || memcmp(h, want, PR_SHA256_LEN) ||
			   memcmp(pre + plen - 2 * PR_SHA256_LEN, prev, PR_SHA256_LEN) ||
			   memcmp(pre + plen - PR_SHA256_LEN, content, PR_SHA256_LEN)) {
			struct json_object *sq;

			json_object_object_get_ex(r, "seq", &sq);
			snprintf(msg, n, "chain.json: record %zu (chain record %" PRId64 ") does not "
				 "match its hash (changed)", i, (int64_t)json_object_get_int64(sq));
			bad = 1;
		}
		(*records)++;
	}
	json_object_put(o);
	return bad;
}

int pr_bundle_verify(const char *dir, int *files, int *records, char *msg, size_t n)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *text, *line, *save = NULL;
	size_t len;
	int bad = 0;

	*files = *records = 0;
	if (dfd < 0) {
		snprintf(msg, n, "%s: %s", dir, strerror(errno));
		return -1;
	}
	text = read_at(dfd, MANIFEST, 1 << 20, &len);
	if (!text) {
		snprintf(msg, n, "%s: no " MANIFEST " (%s)", dir, strerror(errno));
		close(dfd);
		return -1;
	}
	for (line = strtok_r(text, "\n", &save); line && !bad; line = strtok_r(NULL, "\n", &save)) {
		uint8_t want[PR_SHA256_LEN], h[PR_SHA256_LEN];
		const char *name = line + 66;

		if (strlen(line) < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*') ||
		    (line[64] = '\0', pr_unhex(line, want, PR_SHA256_LEN)) || !plain_name(name)) {
			snprintf(msg, n, MANIFEST ": malformed line %d", *files + 1);
			bad = 1;
		} else if (sha256_at(dfd, name, h)) {
			snprintf(msg, n, "%s: %s", name, errno == ENOENT ? "missing (deleted)"
				 : strerror(errno));
			bad = 1;
		} else if (memcmp(h, want, PR_SHA256_LEN)) {
			snprintf(msg, n, "%s: SHA-256 differs from " MANIFEST " (changed)", name);
			bad = 1;
		} else {
			(*files)++;
		}
	}
	free(text);
	if (!bad && !*files) {
		snprintf(msg, n, MANIFEST ": lists no files");
		bad = 1;
	}
	if (!bad)
		bad = check_chain_json(dfd, records, msg, n);
	close(dfd);
	return bad;
}
