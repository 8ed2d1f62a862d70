// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_store_open: a damaged store. The input is written as DIR/polrec.db
 * (everything before the first SEGMENT_MARK) and, when the mark is there,
 * what follows it as the pcap segments DIR/pcap/seg-1.pcap and
 * DIR/pcap/.seg-2.pcap.part, in a private temporary directory. Then, as
 * polq does: pr_store_open read-only, the schema version, the incident list,
 * every listed incident (get, flows, packets, the pcap and pcapng exports
 * into memory, and the text and JSON renderers), the timeline, the process
 * tree of each violator, stats and the consistency check. It must never
 * crash, leak or hang; JSON output must stay valid.
 *
 * POLREC_FUZZ_MAKE_SEED=FILE: write the polrec.db of a small valid store
 * (fz_make_store) to FILE, with its pcap segment after SEGMENT_MARK, and
 * exit: that is how the seed in corpus/store_open/ was made.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "query/export.h"
#include "query/render.h"
#include "schema/store.h"
#include "tests/fuzz/fuzz_common.h"

#define SEGMENT_MARK "\n--polrec-fuzz-segment--\n"
#define MAX_LISTED 16

static char *dir, *db, *pcapdir, *seg1, *seg2;

static char *join(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		abort();
	return s;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n == cap && !(buf = realloc(buf, cap = cap ? cap * 2 : 65536)))
			abort();
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r);
	fclose(f);
	*len = n;
	return buf;
}

static void make_seed(const char *out)
{
	char *sd = join(fz_tempdir("seed"), "store"), *d = join(sd, "polrec.db");
	char *p = join(sd, "pcap/seg-1.pcap");
	size_t dlen = 0, plen = 0;
	char *dbuf, *pbuf;
	FILE *f;

	fz_make_store(sd);
	dbuf = slurp(d, &dlen);
	pbuf = slurp(p, &plen);
	if (!dbuf || !pbuf) {
		fprintf(stderr, "fuzz: the seed store has no %s\n", dbuf ? p : d);
		exit(1);
	}
	f = fopen(out, "wb");
	if (!f || fwrite(dbuf, 1, dlen, f) != dlen || fputs(SEGMENT_MARK, f) < 0 ||
	    fwrite(pbuf, 1, plen, f) != plen || fclose(f)) {
		fprintf(stderr, "fuzz: %s: %s\n", out, strerror(errno));
		exit(1);
	}
	printf("wrote %s: polrec.db %zu bytes, segment %zu bytes\n", out, dlen, plen);
	free(dbuf);
	free(pbuf);
	free(p);
	free(d);
	free(sd);
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seed = getenv("POLREC_FUZZ_MAKE_SEED");

	(void)argc;
	(void)argv;
	if (seed && *seed)
		make_seed(seed);
	dir = join(fz_tempdir("store"), "store");
	db = join(dir, "polrec.db");
	pcapdir = join(dir, "pcap");
	seg1 = join(pcapdir, "seg-1.pcap");
	seg2 = join(pcapdir, ".seg-2.pcap.part");
	return 0;
}

static FILE *sink(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (!f)
		abort();
	return f;
}

static void json_check(const char *what, struct json_object *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = sink(&buf, &len);

	if (!o) /* ENOMEM only */
		abort();
	if (pr_json_print(f, o))
		abort();
	json_object_put(o);
	fclose(f);
	fz_check_json_lines(what, buf, len, 1);
	free(buf);
}

static int count_packet(const struct pr_packet_rec *p, const struct pr_flow_rec *f, void *arg)
{
	if (p->caplen > PR_STORE_SNAPLEN || p->caplen > p->len || (p->caplen && !p->data))
		abort();
	(*(long *)arg)++;
	return 0;
}

static int timeline_cb(const struct pr_event_rec *e, int64_t incident_id, void *arg)
{
	(void)arg;
	json_check("pr_json_timeline_event", pr_json_timeline_event(e, incident_id));
	return 0;
}

static int list_cb(const struct pr_incident_rec *inc, void *arg)
{
	struct { int64_t id[MAX_LISTED]; uint32_t pid[MAX_LISTED]; uint64_t sb[MAX_LISTED];
		 size_t n; } *l = arg;

	json_check("pr_json_incident", pr_json_incident(inc));
	if (l->n < MAX_LISTED) {
		l->id[l->n] = inc->id;
		l->pid[l->n] = inc->proc.pid;
		l->sb[l->n] = inc->proc.start_boot;
		l->n++;
	}
	return l->n >= MAX_LISTED;
}

static void export(struct pr_store *s, int64_t id, enum pr_export_format fmt)
{
	char *buf = NULL, err[512];
	size_t len = 0;
	FILE *f = sink(&buf, &len);

	err[0] = '\0';
	if (pr_export_incident(s, id, f, fmt, err, sizeof(err)) < 0 &&
	    (!err[0] || strchr(err, '\n'))) {
		fprintf(stderr, "fuzz: export error is not one line: %s\n", err);
		abort();
	}
	/* f is closed by the export in every case */
	free(buf);
}

static void read_store(struct pr_store *s)
{
	struct { int64_t id[MAX_LISTED]; uint32_t pid[MAX_LISTED]; uint64_t sb[MAX_LISTED];
		 size_t n; } l = { .n = 0 };
	struct pr_stats st = { 0 };
	char *buf;
	size_t len;
	FILE *f;

	if (pr_store_schema_version(s) < 1)
		abort();
	pr_store_list_incidents(s, NULL, list_cb, &l);
	for (size_t i = 0; i < l.n; i++) {
		struct pr_incident_full *full = NULL;
		struct pr_flow_list fl = { 0 };
		struct pr_proc_list lin = { 0 }, ch = { 0 }, found = { 0 };
		long npk = 0;

		if (pr_store_get_incident(s, l.id[i], &full) == 0 && full) {
			buf = NULL;
			f = sink(&buf, &len);
			if (pr_text_incident_full(f, full))
				abort();
			fclose(f);
			fz_check_text("pr_text_incident_full", buf, len, -1);
			free(buf);
			json_check("pr_json_incident_full", pr_json_incident_full(full));
			pr_incident_full_free(full);
		}
		if (pr_store_incident_flows(s, l.id[i], &fl) == 0)
			pr_flow_list_free(&fl);
		pr_store_incident_packets(s, l.id[i], count_packet, &npk);
		export(s, l.id[i], PR_EXPORT_PCAP);
		export(s, l.id[i], PR_EXPORT_PCAPNG);
		if (pr_store_find_processes(s, l.pid[i], 0, &found) == 0)
			pr_proc_list_free(&found);
		if (pr_store_process_lineage(s, l.pid[i], l.sb[i], &lin) == 0 &&
		    pr_store_process_children(s, l.pid[i], l.sb[i], &ch) == 0 && lin.n) {
			json_check("pr_json_tree", pr_json_tree(&lin.v[0], &lin, &ch));
		}
		pr_proc_list_free(&ch);
		pr_proc_list_free(&lin);
	}
	pr_store_timeline(s, 0, 0, 0, 0, timeline_cb, NULL);
	if (pr_store_stats(s, &st) == 0) {
		json_check("pr_json_stats", pr_json_stats(&st));
		pr_stats_free(&st);
	}
	pr_store_check(s, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *mark = memmem(data, size, SEGMENT_MARK, sizeof(SEGMENT_MARK) - 1);
	size_t dblen = mark ? (size_t)(mark - data) : size;
	struct pr_store *s = NULL;
	char err[512];

	fz_rmtree(dir);
	if (mkdir(dir, 0700))
		abort();
	fz_write_file(db, data, dblen);
	if (mark) {
		const uint8_t *seg = mark + sizeof(SEGMENT_MARK) - 1;
		size_t seglen = size - (size_t)(seg - data);

		if (mkdir(pcapdir, 0700))
			abort();
		fz_write_file(seg1, seg, seglen);
		fz_write_file(seg2, seg, seglen);
	}
	err[0] = '\0';
	if (pr_store_open(&s, dir, PR_STORE_READ, err, sizeof(err))) {
		if (s || !err[0] || strchr(err, '\n')) {
			fprintf(stderr, "fuzz: pr_store_open failed without one line: %s\n", err);
			abort();
		}
		return 0;
	}
	read_store(s);
	pr_store_close(s);
	return 0;
}
