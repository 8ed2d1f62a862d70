// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * polq: read the polrec store and answer who, what, when and how.
 *
 *   polq [--store DIR] [--json | -o FORMAT] [--color[=WHEN]] [--no-pager] COMMAND [ARGS]
 *
 * Commands live in one {name, handler} table (bpftool style); any
 * unambiguous prefix selects one. Options --json, --store, --color and
 * --no-pager are accepted after the command as well, and -o FORMAT after
 * the listing commands (incidents, show, timeline, tree, stats); after
 * pcap, export and checkpoint -o is their output path.
 *
 * Exit status, which scripts rely on:
 *   0  something was found and printed (stats: the store was read; pcap:
 *      the capture was written, also when the incident has no packets:
 *      then it is a valid empty capture and stderr says so)
 *   1  nothing matched: no incidents, no such incident, no such process,
 *      no recorded events (timeline).
 *      stdout stays empty (an empty result, not an error, also in --json
 *      mode); one line on stderr says what was not found.
 *   2  usage or store error: one line "polq: ..." on stderr, and in --json
 *      mode also {"error": "..."} on stdout, as bpftool does, so a script
 *      reading stdout sees why there is no result. pcap: also when the
 *      output file exists and --force was not given.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "query/bundle.h"
#include "query/ecs.h"
#include "query/export.h"
#include "query/ocsf.h"
#include "query/render.h"
#include "query/term.h"
#include "schema/chain.h"
#include "schema/prune.h"
#include "schema/store.h"

#ifndef POLREC_VERSION
#define POLREC_VERSION "0.1.0"
#endif
#define DEFAULT_STORE "/var/lib/polrec"

enum {
	EXIT_FOUND = 0,
	EXIT_NONE = 1,
	EXIT_ERROR = 2,
};

/* -o FORMAT. ocsf and ecs render whole incidents (query/ocsf.c, ecs.c):
 * format_check allows them for incidents and show only. */
enum out_format {
	FMT_TEXT,
	FMT_JSON,
	FMT_OCSF,
	FMT_ECS,
};
#define FMT__COUNT (FMT_ECS + 1)

static const char *const format_names[FMT__COUNT] = {
	[FMT_TEXT] = "text",
	[FMT_JSON] = "json",
	[FMT_OCSF] = "ocsf",
	[FMT_ECS] = "ecs",
};

/* Reset at each run (the fuzz target calls main again and again). */
static enum out_format out_fmt;
static bool json_output;   /* out_fmt == FMT_JSON (errors as {"error": ...}) */
static enum pr_color_mode color_mode;
static bool no_pager;
static const char *cmd_name; /* the selected command's full name */
static bool reader_gone;     /* stdout's reader (pager, -f's pipe) quit: done */
static const char *store_dir = DEFAULT_STORE;

static void set_format(enum out_format f)
{
	out_fmt = f;
	json_output = f == FMT_JSON;
}

static void vmsg(bool json, const char *fmt, va_list ap)
{
	struct json_object *o;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* The message may quote arguments and store bytes: escape it. */
	fputs("polq: ", stderr);
	pr_esc_puts(stderr, msg, 0);
	fputc('\n', stderr);
	if (!json)
		return;
	o = json_object_new_object();
	if (!o || pr_json_add_str(o, "error", msg) || pr_json_print(stdout, o))
		fputs("polq: cannot print the JSON error object\n", stderr);
	json_object_put(o);
}

/* An error (exit 2): stderr, and {"error": ...} on stdout in JSON mode. */
__attribute__((format(printf, 1, 2)))
static int p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(json_output, fmt, ap);
	va_end(ap);
	return EXIT_ERROR;
}

/* Nothing matched (exit 1): stderr only, stdout stays an empty result. */
__attribute__((format(printf, 1, 2)))
static int p_none(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(false, fmt, ap);
	va_end(ap);
	return EXIT_NONE;
}

static void usage(FILE *f)
{
	fputs("Usage: polq [--store DIR] [--json | -o FORMAT] [--color[=WHEN]] [--no-pager]\n"
	      "            COMMAND [ARGS]\n"
	      "       polq --version\n"
	      "\n"
	      "Commands (any unambiguous prefix works):\n"
	      "  incidents [--since WHEN] [--until WHEN] [--policy NAME]\n"
	      "            [--severity low|medium|high|critical] [-n N] [-r] [-f]\n"
	      "                       incidents, oldest first, one per line; -n N (--lines)\n"
	      "                       the newest N, -r (--reverse) newest first, -f (--follow)\n"
	      "                       then wait and print new ones as they are recorded,\n"
	      "                       each exactly once, until interrupted (exit 0)\n"
	      "  show ID              one incident: what, who, when, how; its events as a\n"
	      "                       timeline around the violation (offsets like -12.300s,\n"
	      "                       -1m02.300s, +1h00m05.000s) and the gaps where events\n"
	      "                       were lost\n"
	      "  timeline [--since WHEN] [--until WHEN] [--process PID|PID:START] [-n N] [-r]\n"
	      "                       every recorded event, oldest first, with the incident\n"
	      "                       it belongs to; -n and -r as for incidents\n"
	      "  tree PID|PID:START   a process's lineage and its recorded children;\n"
	      "                       a bare PID shows every recorded process with it\n"
	      "  pcap ID -o FILE [--pcapng] [--force]\n"
	      "                       the incident's packets as a capture for Wireshark\n"
	      "                       (classic pcap, raw IP, ns timestamps; --pcapng adds\n"
	      "                       per-packet comments and directions); -o - is stdout;\n"
	      "                       an existing FILE is kept unless --force\n"
	      "  stats                store totals, packets and recorded event losses\n"
	      "  policies [ID]        the policy versions that were in force (each incident\n"
	      "                       names its version); with ID, that version's text\n"
	      "  verify [--full] [--checkpoint FILE --pubkey PUB.pem]\n"
	      "                       recompute the store's hash chain; exit 1 names the\n"
	      "                       first record changed, removed, inserted or reordered;\n"
	      "                       --full adds SQLite's integrity_check and rehashes the\n"
	      "                       closed pcap segments; --checkpoint also catches a cut\n"
	      "                       tail against a signed checkpoint\n"
	      "  checkpoint --key KEY.pem -o FILE [--force]\n"
	      "                       verify, then sign the chain head with an Ed25519 key\n"
	      "                       (openssl genpkey -algorithm ed25519) kept outside the store\n"
	      "  export ID -o DIR [--force]\n"
	      "                       an incident bundle: incident.json, incident.pcap(ng),\n"
	      "                       chain.json and a MANIFEST of SHA-256 hashes\n"
	      "  export -o ocsf|ecs [--since WHEN] [--until WHEN] [--policy NAME]\n"
	      "         [--severity S] [--file FILE [--force]] [ID...]\n"
	      "                       incidents as NDJSON: OCSF 1.2.0 (a Detection Finding\n"
	      "                       and its activity records) or ECS 8 (one document each);\n"
	      "                       a bundle directory named ocsf or ecs is -o ./ocsf\n"
	      "  verify-bundle DIR    check a bundle against its MANIFEST (no store needed)\n"
	      "  help                 this text\n"
	      "\n"
	      "Options (before or after the command):\n"
	      "  --store DIR          the store (default $POLREC_STORE, else " DEFAULT_STORE ")\n"
	      "  -j, --json           JSON, one object per line; errors as {\"error\": ...}\n"
	      "  -o, --output FORMAT  text (default) or json (= --json); before the command,\n"
	      "                       or after incidents, show, timeline, tree and stats\n"
	      "                       (after pcap, export and checkpoint -o is their path)\n"
	      "  --color[=WHEN]       colour severities and violations: auto (default: a\n"
	      "                       terminal, $NO_COLOR unset or empty, $TERM not dumb),\n"
	      "                       always (also --color alone) or never; never in JSON\n"
	      "  --no-pager           do not page; text on a terminal goes through\n"
	      "                       $POLQ_PAGER, else $PAGER, else less (LESS=FRX when\n"
	      "                       $LESS is unset); empty or cat: no pager; -f never pages\n"
	      "  -h, --help           this text\n"
	      "  -V, --version        the version (before the command)\n"
	      "\n"
	      "WHEN, as journalctl takes it: RFC 3339 (2026-11-26T09:00:00Z,\n"
	      "2026-11-26T10:00:00.5+01:00); local time \"2026-11-26 09:00:00\",\n"
	      "\"2026-11-26 09:00\", 2026-11-26 (midnight) or 09:00 (today); today,\n"
	      "yesterday, tomorrow (local midnight), now, @EPOCH_SECONDS; relative -1h,\n"
	      "+5m, \"5min ago\", or a bare duration meaning that long ago (30s, 15m, 1h,\n"
	      "2d, 1w, 1h30m, \"1h 30min\"; units us ms s sec m min h hr d w and the\n"
	      "long names seconds, minutes, hours, days, weeks).\n"
	      "START is the process start in boot-time ns, as show and tree print it.\n"
	      "Exit status: 0 found (pcap: written, maybe empty), 1 nothing matched,\n"
	      "2 usage, store or output error. verify, verify-bundle: 0 sound, 1 tampered.\n",
	      f);
}

static int open_store(struct pr_store **s)
{
	char err[512];

	if (pr_store_open(s, store_dir, PR_STORE_READ, err, sizeof(err)))
		return p_err("%s", err);
	return 0;
}

static int store_err(struct pr_store *s)
{
	return p_err("%s: %s", store_dir, pr_store_errmsg(s));
}

/* EPIPE from a pager that quit, or from -f's reader going away, is how
 * they say they are done: exit 0 without a word. */
static bool reader_quit(int err, bool following)
{
	if (err == EPIPE && (following || pr_pager_active()))
		reader_gone = true;
	/* -f: SIGINT/SIGTERM interrupting a blocked write is the way out */
	if (following && (err == EINTR || err == EPIPE) && pr_follow_stopped())
		reader_gone = true;
	return reader_gone;
}

static int output_err(void)
{
	if (reader_quit(errno, false))
		return EXIT_FOUND;
	return p_err("writing output: %s", strerror(errno));
}

/* Before a command's first output: colour is decided on the real stdout,
 * then (page: a listing) the pager takes it. */
static void output_begin(bool page)
{
	pr_text_color(out_fmt == FMT_TEXT && pr_color_want(color_mode, fileno(stdout)));
	if (page && out_fmt == FMT_TEXT && !no_pager)
		pr_pager_start();
}

/* ---- options every command takes ---- */

enum { OPT_COLOR = 500, OPT_NO_PAGER };

#define COMMON_SHORTOPTS ":js:h"
#define COMMON_LONGOPTS                                     \
	{ "json", no_argument, NULL, 'j' },                 \
	{ "store", required_argument, NULL, 's' },          \
	{ "color", optional_argument, NULL, OPT_COLOR },    \
	{ "no-pager", no_argument, NULL, OPT_NO_PAGER },    \
	{ "help", no_argument, NULL, 'h' }
/* the listing commands (and before the command): -o is a FORMAT */
#define LIST_SHORTOPTS COMMON_SHORTOPTS "o:"
#define LIST_LONGOPTS COMMON_LONGOPTS, { "output", required_argument, NULL, 'o' }

#define OPT_NEXT (-1) /* common_opt: handled, go on parsing */
#define OPT_OTHER (-2) /* list_opt: not one of its options */

static int format_opt(const char *arg)
{
	for (int f = 0; f < FMT__COUNT; f++) {
		if (!strcmp(arg, format_names[f])) {
			set_format((enum out_format)f);
			return OPT_NEXT;
		}
	}
	return p_err("-o '%s': want text, json, ocsf or ecs", arg);
}

/* Which commands speak which format: the one switch to change when a
 * format lands (ocsf, ecs: query/ocsf.c). Called once a command's options
 * are parsed, before it opens anything. */
static int format_check(void)
{
	switch (out_fmt) {
	case FMT_TEXT:
	case FMT_JSON:
		return OPT_NEXT;
	case FMT_OCSF:
	case FMT_ECS:
		/* whole incidents as NDJSON records (query/ocsf.c, query/ecs.c) */
		if (cmd_name && (!strcmp(cmd_name, "incidents") || !strcmp(cmd_name, "show")))
			return OPT_NEXT;
		break;
	}
	return p_err("-o %s: not available for %s", format_names[out_fmt], cmd_name);
}

/* A common option or a getopt complaint: OPT_NEXT, or the exit status. */
static int common_opt(int c, char **argv)
{
	switch (c) {
	case 'j':
		set_format(FMT_JSON);
		return OPT_NEXT;
	case 's':
		store_dir = optarg;
		return OPT_NEXT;
	case OPT_COLOR:
		if (pr_color_parse(optarg, &color_mode))
			return p_err("--color '%s': want auto, always or never", optarg);
		return OPT_NEXT;
	case OPT_NO_PAGER:
		no_pager = true;
		return OPT_NEXT;
	case 'h':
		usage(stdout);
		return EXIT_FOUND;
	case ':':
		return p_err("option '%s' needs an argument (try 'polq help')", argv[optind - 1]);
	}
	if (optopt)
		return p_err("unknown option '-%c' (try 'polq help')", optopt);
	return p_err("unknown option '%s' (try 'polq help')", argv[optind - 1]);
}

/* Start getopt afresh on a command's own argv (argv[0] is its name). */
static void getopt_reset(void)
{
	optind = 0;
	opterr = 0;
}

/* Parse a command that takes only the common options (listing: and
 * -o FORMAT) and nargs operands; returns OPT_NEXT with *first set to the
 * first operand, or the exit status. */
static int parse_plain(int argc, char **argv, int nargs, const char *what, int *first,
		       bool listing)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { 0 } };
	static const struct option list_opts[] = { LIST_LONGOPTS, { 0 } };
	int c, ret;

	getopt_reset();
	while ((c = getopt_long(argc, argv, listing ? LIST_SHORTOPTS : COMMON_SHORTOPTS,
				listing ? list_opts : opts, NULL)) != -1) {
		ret = c == 'o' ? format_opt(optarg) : common_opt(c, argv);
		if (ret != OPT_NEXT)
			return ret;
	}
	/* nargs < 0: at most -nargs arguments */
	if (nargs < 0 && argc - optind > -nargs)
		return p_err("%s: unexpected argument '%s'", argv[0], argv[optind - nargs]);
	if (nargs >= 0 && argc - optind != nargs)
		return nargs ? p_err("%s: expected %s (try 'polq help')", argv[0], what)
			     : p_err("%s: unexpected argument '%s'", argv[0], argv[optind]);
	*first = optind;
	return format_check();
}

/* Print one JSON object (consumed) as a line to f; 0 or -1 with errno. */
static int json_line(FILE *f, struct json_object *o)
{
	int err;

	if (!o)
		return -1;
	err = pr_json_print(f, o);
	json_object_put(o);
	return err;
}

static int emit_json(struct json_object *o)
{
	return json_line(stdout, o);
}

/* ---- listings: -n, -r, and -f's flushing ---- */

struct list_ctx {
	long shown;
	long limit;      /* -n: at most this many; -1 = all */
	bool collect;    /* -n without -r: walked newest first, printed reversed */
	bool follow;     /* flush each record as it is printed */
	char **recs;     /* collected records (rendered), newest first */
	size_t nrecs, cap;
	int64_t last_id; /* incidents: the highest id printed */
	int err;         /* errno of a failed render, 0 if none */
};

/* How -n and -r walk the store: newest first whenever either is given. */
static void list_setup(struct list_ctx *ctx, long lines, bool reverse, bool *newest_first)
{
	ctx->limit = lines;
	ctx->collect = lines >= 0 && !reverse;
	*newest_first = lines >= 0 || reverse;
}

static int list_keep(struct list_ctx *ctx, char *rec)
{
	char **v;

	if (ctx->nrecs == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 64;

		v = realloc(ctx->recs, cap * sizeof(*v));
		if (!v)
			return -1;
		ctx->recs = v;
		ctx->cap = cap;
	}
	ctx->recs[ctx->nrecs++] = rec;
	return 0;
}

/* Render one record to stdout, or into memory when collecting; the store
 * callback's answer: nonzero stops the walk (-n reached, or an error). */
static int list_record(struct list_ctx *ctx, int (*render)(FILE *f, const void *rec),
		       const void *rec)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = stdout;
	int err;

	if (ctx->limit >= 0 && ctx->shown >= ctx->limit)
		return 1;
	errno = 0;
	if (ctx->collect && !(f = open_memstream(&buf, &len)))
		goto fail;
	err = render(f, rec);
	if (ctx->collect) {
		err = fclose(f) || err;
		if (err || list_keep(ctx, buf)) {
			free(buf);
			goto fail;
		}
	} else if (!err && ctx->follow) {
		err = fflush(stdout);
	}
	if (err)
		goto fail;
	ctx->shown++;
	return ctx->limit >= 0 && ctx->shown >= ctx->limit;
fail:
	ctx->err = errno ? errno : EIO;
	return 1;
}

/* Print what was collected, oldest first. */
static int list_flush(struct list_ctx *ctx)
{
	for (size_t i = ctx->nrecs; i-- > 0;) {
		if (fputs(ctx->recs[i], stdout) == EOF) {
			ctx->err = errno ? errno : EIO;
			return -1;
		}
		free(ctx->recs[i]);
		ctx->nrecs = i;
	}
	if (ctx->follow && fflush(stdout)) {
		ctx->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

static void list_free(struct list_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nrecs; i++)
		free(ctx->recs[i]);
	free(ctx->recs);
	ctx->recs = NULL;
	ctx->nrecs = ctx->cap = 0;
}

/* The end of a listing: n from the store walk; the exit status, nothing
 * found (none: the message) being exit 1. */
static int list_finish(struct pr_store *s, struct list_ctx *ctx, long n, const char *none)
{
	if (!ctx->err && n >= 0)
		list_flush(ctx);
	if (ctx->err) {
		errno = ctx->err;
		return output_err();
	}
	if (n < 0)
		return store_err(s);
	return ctx->shown ? EXIT_FOUND : p_none("%s", none);
}

/* -n N / --lines N: a count, or "all". */
static int lines_opt(const char *arg, long *lines)
{
	char *end;
	long v;

	if (!strcmp(arg, "all")) {
		*lines = -1;
		return OPT_NEXT;
	}
	errno = 0;
	v = *arg >= '0' && *arg <= '9' ? strtol(arg, &end, 10) : -1;
	if (v < 0 || errno || *end)
		return p_err("-n '%s': want a number of lines (0 or more) or all", arg);
	*lines = v;
	return OPT_NEXT;
}

/* ---- incidents ---- */

struct incidents_args {
	struct pr_query q;
	bool until_set, reverse, follow;
	long lines; /* -n; -1 = all */
};

/* The store being listed: -o ocsf|ecs render each incident whole from it. */
static struct pr_store *list_store;

/* One incident (OCSF, ECS: whole, as NDJSON records) in the chosen format;
 * 0, or -1 with errno. */
static int write_records(FILE *f, struct pr_store *s, int64_t id)
{
	int rc = out_fmt == FMT_OCSF ? pr_ocsf_write_incident(f, s, id)
				     : pr_ecs_write_incident(f, s, id);

	if (rc < 0 && !errno)
		errno = EIO; /* a store error (pr_store_errmsg) */
	return rc < 0 ? -1 : 0; /* 1: pruned since it was listed */
}

/* One incident as a list line, in the chosen format. */
static int render_incident(FILE *f, const void *rec)
{
	const struct pr_incident_rec *inc = rec;

	if (out_fmt == FMT_OCSF || out_fmt == FMT_ECS)
		return write_records(f, list_store, inc->id);
	return json_output ? json_line(f, pr_json_incident(inc)) : pr_text_incident_line(f, inc);
}

static int incident_cb(const struct pr_incident_rec *inc, void *arg)
{
	struct list_ctx *ctx = arg;
	int ret = list_record(ctx, render_incident, inc);

	if (!ctx->err && inc->id > ctx->last_id)
		ctx->last_id = inc->id;
	return ret;
}

static bool valid_severity(const char *s)
{
	static const char *const sev[] = { "low", "medium", "high", "critical" };
	size_t i;

	for (i = 0; i < sizeof(sev) / sizeof(sev[0]); i++)
		if (!strcmp(s, sev[i]))
			return true;
	return false;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_when(const char *opt, const char *arg, uint64_t *out)
{
	int err = pr_parse_when(arg, now_ns(), out);

	if (err == -ERANGE)
		return p_err("%s '%s': out of range (before 1970 or too far ahead)", opt, arg);
	if (err)
		return p_err("%s '%s': not a time; want " PR_WHEN_FORMS, opt, arg);
	return OPT_NEXT;
}

enum { OPT_SINCE = 256, OPT_UNTIL, OPT_POLICY, OPT_SEVERITY, OPT_PROCESS };

/* incidents' and timeline's own options; OPT_NEXT or an exit status */
static int list_opt(int c, long *lines, bool *reverse)
{
	switch (c) {
	case 'o':
		return format_opt(optarg);
	case 'n':
		return lines_opt(optarg, lines);
	case 'r':
		*reverse = true;
		return OPT_NEXT;
	}
	return OPT_OTHER;
}

static int parse_incidents(int argc, char **argv, struct incidents_args *a)
{
	static const struct option opts[] = {
		LIST_LONGOPTS,
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "severity", required_argument, NULL, OPT_SEVERITY },
		{ "lines", required_argument, NULL, 'n' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "follow", no_argument, NULL, 'f' },
		{ 0 },
	};
	struct pr_query *q = &a->q;
	int c, ret;

	getopt_reset();
	while ((c = getopt_long(argc, argv, LIST_SHORTOPTS "n:rf", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SINCE:
			ret = parse_when("--since", optarg, &q->since);
			break;
		case OPT_UNTIL:
			ret = parse_when("--until", optarg, &q->until);
			a->until_set = true;
			break;
		case OPT_POLICY:
			q->policy = optarg;
			ret = OPT_NEXT;
			break;
		case OPT_SEVERITY:
			q->severity = optarg;
			ret = valid_severity(optarg) ? OPT_NEXT :
			      p_err("--severity '%s': want low, medium, high or critical", optarg);
			break;
		case 'f':
			a->follow = true;
			ret = OPT_NEXT;
			break;
		default:
			ret = list_opt(c, &a->lines, &a->reverse);
			if (ret == OPT_OTHER)
				ret = common_opt(c, argv);
		}
		if (ret != OPT_NEXT)
			return ret;
	}
	if (optind < argc)
		return p_err("incidents: unexpected argument '%s'", argv[optind]);
	if (a->until_set && q->since > q->until)
		return p_err("--since is after --until");
	if (a->follow && a->reverse)
		return p_err("incidents: -f prints new incidents last; it does not go with -r");
	return format_check();
}

#define FOLLOW_MS 250 /* how often -f looks for new incidents */

/* -f: poll for incidents committed after top, in commit (id) order, each
 * printed once: a round lists ids in (after, max id at the round's start],
 * and a round cut short by an error resumes after the last id printed.
 * A store error is said once and retried (polrecd restarting); exit 0 at
 * SIGINT, SIGTERM or SIGPIPE, or when the reader of stdout is gone. */
static int follow_incidents(struct pr_store *s, struct incidents_args *a, struct list_ctx *ctx,
			    int64_t top)
{
	bool failing = false;
	int64_t max;
	long n;

	ctx->collect = false;
	ctx->limit = -1;
	ctx->last_id = top;
	a->q.order = PR_ORDER_ID;
	while (pr_follow_sleep(FOLLOW_MS)) {
		n = pr_store_max_incident_id(s, &max);
		if (!n && max > ctx->last_id) {
			a->q.after_id = ctx->last_id;
			a->q.upto_id = max;
			n = pr_store_list_incidents(s, &a->q, incident_cb, ctx);
			if (n >= 0)
				ctx->last_id = max; /* the non-matching ones too */
		}
		if (reader_quit(ctx->err, true))
			return EXIT_FOUND;
		if (ctx->err) {
			errno = ctx->err;
			return output_err();
		}
		/* a note, not an end: stderr only (escaped), and polq goes on */
		if (n < 0 && !failing)
			p_none("incidents -f: %s: %s; still trying", store_dir, pr_store_errmsg(s));
		failing = n < 0;
	}
	return EXIT_FOUND;
}

static int do_incidents(int argc, char **argv)
{
	struct incidents_args a = { .lines = -1 };
	struct list_ctx ctx = { 0 };
	struct pr_store *s;
	bool newest_first;
	int64_t top = 0;
	long n = 0;
	int ret;

	ret = parse_incidents(argc, argv, &a);
	if (ret != OPT_NEXT)
		return ret;
	/* until 0 (the epoch itself) would read as "unbounded" in the store. */
	if (a.until_set && !a.q.until)
		return p_none("no incidents match");
	if (open_store(&s))
		return EXIT_ERROR;
	list_store = s;
	/* -f: what is there now, then what comes after it */
	if (a.follow && pr_store_max_incident_id(s, &top)) {
		ret = store_err(s);
		pr_store_close(s);
		return ret;
	}
	/* -f: the signals that end it are caught before the first line, so a
	 * reader that quits early (| head) or ^C end it with 0 */
	if (a.follow && pr_follow_signals()) {
		pr_store_close(s);
		return p_err("incidents -f: cannot catch signals: %s", strerror(errno));
	}
	list_setup(&ctx, a.lines, a.reverse, &newest_first);
	a.q.order = newest_first ? PR_ORDER_TIME_DESC : PR_ORDER_TIME;
	a.q.upto_id = top;
	ctx.follow = a.follow;
	output_begin(!a.follow);
	if (!a.follow || top > 0)
		n = pr_store_list_incidents(s, &a.q, incident_cb, &ctx);
	if (!a.follow) {
		ret = list_finish(s, &ctx, n, "no incidents match");
	} else if (n < 0 || ctx.err) {
		ret = reader_quit(ctx.err, true) ? EXIT_FOUND : list_finish(s, &ctx, n, NULL);
	} else if (list_flush(&ctx)) {
		ret = reader_quit(ctx.err, true) ? EXIT_FOUND : (errno = ctx.err, output_err());
	} else {
		ret = follow_incidents(s, &a, &ctx, top);
	}
	list_free(&ctx);
	pr_store_close(s);
	return ret;
}

/* ---- show ---- */

static bool parse_incident_id(const char *s, int64_t *id)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0)
		return false;
	*id = v;
	return true;
}

static int do_show(int argc, char **argv)
{
	struct pr_incident_full *full = NULL;
	struct pr_store *s;
	int64_t id;
	int ret, first;

	ret = parse_plain(argc, argv, 1, "an incident ID", &first, true);
	if (ret != OPT_NEXT)
		return ret;
	if (!parse_incident_id(argv[first], &id))
		return p_err("show: '%s' is not an incident ID", argv[first]);
	if (open_store(&s))
		return EXIT_ERROR;
	ret = pr_store_get_incident(s, id, &full);
	if (ret < 0) {
		ret = store_err(s);
	} else if (ret > 0) {
		ret = p_none("no incident %" PRId64, id);
	} else {
		output_begin(true);
		if (out_fmt == FMT_OCSF || out_fmt == FMT_ECS)
			ret = write_records(stdout, s, id);
		else
			ret = json_output ? emit_json(pr_json_incident_full(full))
					  : pr_text_incident_full(stdout, full);
		ret = ret ? output_err() : EXIT_FOUND;
		pr_incident_full_free(full);
	}
	pr_store_close(s);
	return ret;
}

/* ---- pcap ---- */

struct pcap_args {
	const char *out;         /* -o FILE, "-" = stdout */
	bool pcapng, force;
	int64_t id;
};

enum { OPT_PCAPNG = 300, OPT_FORCE };

static int parse_pcap(int argc, char **argv, struct pcap_args *a)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "pcapng", no_argument, NULL, OPT_PCAPNG },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ 0 },
	};
	int c, ret;

	getopt_reset();
	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "o:", opts, NULL)) != -1) {
		ret = OPT_NEXT;
		if (c == 'o')
			a->out = optarg;
		else if (c == OPT_PCAPNG)
			a->pcapng = true;
		else if (c == OPT_FORCE)
			a->force = true;
		else
			ret = common_opt(c, argv);
		if (ret != OPT_NEXT)
			return ret;
	}
	if (argc - optind != 1)
		return argc - optind ? p_err("pcap: unexpected argument '%s'", argv[optind + 1])
				     : p_err("pcap: expected an incident ID (try 'polq help')");
	if (!parse_incident_id(argv[optind], &a->id))
		return p_err("pcap: '%s' is not an incident ID", argv[optind]);
	if (!a->out || !*a->out)
		return p_err("pcap: -o FILE is required (-o - writes to stdout)");
	if (!strcmp(a->out, "-") && json_output)
		return p_err("pcap: --json and -o - both want stdout");
	if (!strcmp(a->out, "-") && isatty(STDOUT_FILENO))
		return p_err("pcap: refusing to write a capture to a terminal (use -o FILE, or a pipe)");
	return format_check();
}

/* ---- output files: written whole under a temporary name ---- */

/* An output file (pcap -o, export --file, checkpoint -o) is written under a
 * temporary name in its directory (mkstemp: 0600, a new file, never through
 * a symlink) and put in place only when complete: without --force with
 * link(2), which refuses an existing name atomically; with --force with
 * rename(2), which replaces the name itself, never a symlink's target.
 * A failed or empty-handed run leaves nothing behind. */
struct outfile {
	const char *path;
	char *tmp;
	bool force;
};

static FILE *outfile_open(struct outfile *o, const char *path, bool force, const char *what)
{
	const char *slash = strrchr(path, '/');
	int fd, n;
	FILE *f;

	o->path = path;
	o->force = force;
	o->tmp = NULL;
	if (!force && !access(path, F_OK)) {
		p_err("%s: %s exists (use --force to overwrite it)", what, path);
		return NULL;
	}
	n = asprintf(&o->tmp, "%.*s.polq-XXXXXX", slash ? (int)(slash - path + 1) : 0, path);
	if (n < 0) {
		o->tmp = NULL;
		p_err("%s: %s: %s", what, path, strerror(ENOMEM));
		return NULL;
	}
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "wb"))) {
		p_err("%s: %s: %s", what, path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
		return NULL;
	}
	return f;
}

/* Close f and put the file in place (ok), or remove it. 0, or the exit
 * status after one error line. */
static int outfile_close(struct outfile *o, FILE *f, bool ok, const char *what)
{
	int ret = 0;

	if (!o->tmp)
		return 0;
	if (fflush(f) || fsync(fileno(f)))
		ok = ok ? (ret = p_err("%s: %s: %s", what, o->path, strerror(errno)), false) : false;
	if (fclose(f) && ok)
		ok = false, ret = p_err("%s: %s: %s", what, o->path, strerror(errno));
	if (ok && !o->force && link(o->tmp, o->path))
		ret = errno == EEXIST ? p_err("%s: %s exists (use --force to overwrite it)", what,
					      o->path)
				      : p_err("%s: %s: %s", what, o->path, strerror(errno));
	else if (ok && o->force && rename(o->tmp, o->path))
		ret = p_err("%s: %s: %s", what, o->path, strerror(errno));
	unlink(o->tmp); /* after link, the temporary name; after rename, nothing */
	free(o->tmp);
	o->tmp = NULL;
	return ret;
}

static int pcap_done(const struct pcap_args *a, long n)
{
	struct json_object *o;

	if (!n)
		fprintf(stderr, "polq: incident %" PRId64 " has no stored packets; wrote an empty "
			"capture\n", a->id);
	if (!json_output)
		return EXIT_FOUND;
	o = json_object_new_object();
	if (!o || json_object_object_add(o, "incident", json_object_new_int64(a->id)) ||
	    json_object_object_add(o, "packets", json_object_new_int64(n)) ||
	    json_object_object_add(o, "format",
				   json_object_new_string(a->pcapng ? "pcapng" : "pcap")) ||
	    pr_json_add_str(o, "file", a->out)) {
		json_object_put(o);
		return output_err();
	}
	return emit_json(o) ? output_err() : EXIT_FOUND;
}

static int export_to(struct pr_store *s, const struct pcap_args *a)
{
	struct outfile o = { 0 };
	char err[1024];
	FILE *f = NULL, *g;
	long n;
	int fd, ret;

	/* the exporter closes what it is given (libpcap's dumper owns it):
	 * give it a descriptor of its own */
	if (!strcmp(a->out, "-")) {
		fd = dup(STDOUT_FILENO);
	} else {
		f = outfile_open(&o, a->out, a->force, "pcap");
		if (!f)
			return EXIT_ERROR;
		fd = dup(fileno(f));
	}
	g = fd >= 0 ? fdopen(fd, "wb") : NULL;
	if (!g) {
		ret = p_err("pcap: %s: %s", a->out, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (f)
			outfile_close(&o, f, false, "pcap");
		return ret;
	}
	n = pr_export_incident(s, a->id, g, a->pcapng ? PR_EXPORT_PCAPNG : PR_EXPORT_PCAP,
			       err, sizeof(err));
	ret = f ? outfile_close(&o, f, n >= 0, "pcap") : 0;
	if (n < 0)
		return p_err("pcap: %s", err);
	return ret ? ret : pcap_done(a, n);
}

static int do_pcap(int argc, char **argv)
{
	struct pcap_args a = { 0 };
	struct pr_incident_full *full = NULL;
	struct pr_store *s;
	int ret;

	ret = parse_pcap(argc, argv, &a);
	if (ret != OPT_NEXT)
		return ret;
	if (open_store(&s))
		return EXIT_ERROR;
	ret = pr_store_get_incident(s, a.id, &full);
	if (ret < 0)
		ret = store_err(s);
	else if (ret > 0)
		ret = p_none("no incident %" PRId64, a.id);
	else
		ret = export_to(s, &a);
	pr_incident_full_free(full);
	pr_store_close(s);
	return ret;
}

/* ---- timeline ---- */

struct timeline_args {
	uint64_t since, until;
	bool until_set, reverse;
	long lines; /* -n; -1 = all */
	uint32_t pid;
	uint64_t start_boot;
};

static int parse_timeline(int argc, char **argv, struct timeline_args *a)
{
	static const struct option opts[] = {
		LIST_LONGOPTS,
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "process", required_argument, NULL, OPT_PROCESS },
		{ "lines", required_argument, NULL, 'n' },
		{ "reverse", no_argument, NULL, 'r' },
		{ 0 },
	};
	int c, ret;

	getopt_reset();
	while ((c = getopt_long(argc, argv, LIST_SHORTOPTS "n:r", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SINCE:
			ret = parse_when("--since", optarg, &a->since);
			break;
		case OPT_UNTIL:
			ret = parse_when("--until", optarg, &a->until);
			a->until_set = true;
			break;
		case OPT_PROCESS:
			ret = pr_parse_process_id(optarg, &a->pid, &a->start_boot) ?
			      p_err("--process '%s': want PID or PID:START", optarg) : OPT_NEXT;
			break;
		default:
			ret = list_opt(c, &a->lines, &a->reverse);
			if (ret == OPT_OTHER)
				ret = common_opt(c, argv);
		}
		if (ret != OPT_NEXT)
			return ret;
	}
	if (optind < argc)
		return p_err("timeline: unexpected argument '%s'", argv[optind]);
	if (a->until_set && a->since > a->until)
		return p_err("--since is after --until");
	return format_check();
}

struct timeline_rec {
	const struct pr_event_rec *e;
	int64_t incident_id;
};

static int render_timeline(FILE *f, const void *rec)
{
	const struct timeline_rec *r = rec;

	return json_output ? json_line(f, pr_json_timeline_event(r->e, r->incident_id))
			   : pr_text_timeline_event(f, r->e, r->incident_id);
}

static int timeline_cb(const struct pr_event_rec *e, int64_t incident_id, void *arg)
{
	struct timeline_rec r = { e, incident_id };

	return list_record(arg, render_timeline, &r);
}

static int do_timeline(int argc, char **argv)
{
	struct timeline_args a = { .lines = -1 };
	struct list_ctx ctx = { 0 };
	struct pr_store *s;
	bool newest_first;
	long n;
	int ret;

	ret = parse_timeline(argc, argv, &a);
	if (ret != OPT_NEXT)
		return ret;
	/* until 0 (the epoch itself) would read as "unbounded" in the store. */
	if (a.until_set && !a.until)
		return p_none("no recorded events match");
	if (open_store(&s))
		return EXIT_ERROR;
	list_setup(&ctx, a.lines, a.reverse, &newest_first);
	output_begin(true);
	n = (newest_first ? pr_store_timeline_rev : pr_store_timeline)(s, a.since, a.until, a.pid,
								      a.start_boot, timeline_cb,
								      &ctx);
	ret = list_finish(s, &ctx, n, "no recorded events match");
	list_free(&ctx);
	pr_store_close(s);
	return ret;
}

/* ---- tree ---- */

static int show_tree(struct pr_store *s, const struct pr_proc_rec *p, bool first)
{
	struct pr_proc_list lineage = { 0 }, children = { 0 };
	int ret;

	if (pr_store_process_lineage(s, p->pid, p->start_boot, &lineage) < 0)
		return store_err(s);
	if (pr_store_process_children(s, p->pid, p->start_boot, &children) < 0) {
		pr_proc_list_free(&lineage);
		return store_err(s);
	}
	if (json_output)
		ret = emit_json(pr_json_tree(p, &lineage, &children));
	else
		ret = (!first && fputc('\n', stdout) == EOF) ? -1
							     : pr_text_tree(stdout, p, &lineage, &children);
	pr_proc_list_free(&children);
	pr_proc_list_free(&lineage);
	return ret ? output_err() : EXIT_FOUND;
}

static int do_tree(int argc, char **argv)
{
	struct pr_proc_list found = { 0 };
	struct pr_store *s;
	uint64_t start;
	uint32_t pid;
	int ret, first;
	size_t i;

	ret = parse_plain(argc, argv, 1, "PID or PID:START", &first, true);
	if (ret != OPT_NEXT)
		return ret;
	if (pr_parse_process_id(argv[first], &pid, &start))
		return p_err("tree: '%s' is not a PID or PID:START", argv[first]);
	if (open_store(&s))
		return EXIT_ERROR;
	if (pr_store_find_processes(s, pid, start, &found) < 0) {
		ret = store_err(s);
	} else if (!found.n) {
		ret = p_none("no recorded process %s", argv[first]);
	} else {
		output_begin(true);
		for (i = 0, ret = EXIT_FOUND; i < found.n && ret == EXIT_FOUND; i++)
			ret = show_tree(s, &found.v[i], i == 0);
	}
	pr_proc_list_free(&found);
	pr_store_close(s);
	return ret;
}

/* ---- stats ---- */

/* The disk budget (schema/prune.h): limits, what the store uses, prunes,
 * and whether the disk is full. */
static double stats_mib(uint64_t v)
{
	return (double)v / (1024.0 * 1024.0);
}

static int print_budget_text(const struct pr_budget_info *b)
{
	const struct pr_store_usage *u = &b->usage;
	char t[PR_TIME_LEN];

	if (printf("used:        %.1f MiB (database %.1f MiB with %.1f MiB free pages, wal %.1f MiB, "
		   "pcap %.1f MiB in %" PRIu64 " files, reserve %.1f MiB)\n", stats_mib(u->used),
		   stats_mib(u->db_bytes), stats_mib(u->db_free), stats_mib(u->wal_bytes),
		   stats_mib(u->pcap_bytes), u->pcap_files, stats_mib(u->reserve_bytes)) < 0)
		return -1;
	if (!b->available)
		return 0;
	if (printf("budget:      max-store-size ") < 0 ||
	    (b->max_store ? printf("%" PRIu64, b->max_store) : printf("unlimited")) < 0 ||
	    printf(", max-age ") < 0 ||
	    (b->max_age_ns ? printf("%" PRIu64 "s", b->max_age_ns / UINT64_C(1000000000))
			   : printf("unlimited")) < 0 ||
	    printf(", max-pcap-size ") < 0 ||
	    (b->max_pcap ? printf("%" PRIu64, b->max_pcap) : printf("unlimited")) < 0 ||
	    printf("\n") < 0)
		return -1;
	if (printf("disk:        %s%s\n", b->disk_full_since ? "full since " : "ok",
		   b->disk_full_since ? pr_fmt_time(b->disk_full_since, t) : "") < 0)
		return -1;
	if (printf("prunes:      %" PRIu64 " (size %" PRIu64 ", age %" PRIu64 ", disk-full %" PRIu64
		   ", pcap-size %" PRIu64 "): %" PRIu64 " incidents, %.1f MiB freed\n", b->prunes,
		   b->by_reason[PR_PRUNE_SIZE], b->by_reason[PR_PRUNE_AGE],
		   b->by_reason[PR_PRUNE_DISK_FULL], b->by_reason[PR_PRUNE_PCAP_SIZE], b->incidents,
		   stats_mib(b->bytes)) < 0)
		return -1;
	if (b->prunes &&
	    printf("last prune:  %s %s: %" PRIu64 " incidents (ids %" PRId64 "..%" PRId64 "), %.1f MiB\n",
		   pr_fmt_time(b->last_time, t), b->last_reason, b->last_incidents, b->last_first_id,
		   b->last_last_id, stats_mib(b->last_bytes)) < 0)
		return -1;
	return 0;
}

static int jset(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v)
		return -1;
	return json_object_object_add(o, k, v);
}

static int jset_u64(struct json_object *o, const char *k, uint64_t v)
{
	return jset(o, k, json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v));
}

static struct json_object *budget_json(const struct pr_budget_info *b)
{
	struct json_object *o = json_object_new_object(), *p = NULL, *r = NULL;
	const struct pr_store_usage *u = &b->usage;
	char t[PR_TIME_LEN];
	int rc = 0;

	if (!o)
		return NULL;
	rc = rc ?: jset_u64(o, "used", u->used);
	rc = rc ?: jset_u64(o, "db_bytes", u->db_bytes);
	rc = rc ?: jset_u64(o, "db_free", u->db_free);
	rc = rc ?: jset_u64(o, "wal_bytes", u->wal_bytes);
	rc = rc ?: jset_u64(o, "pcap_bytes", u->pcap_bytes);
	rc = rc ?: jset_u64(o, "pcap_files", u->pcap_files);
	rc = rc ?: jset_u64(o, "reserve_bytes", u->reserve_bytes);
	if (b->available) {
		rc = rc ?: jset_u64(o, "max_store_size", b->max_store);
		rc = rc ?: jset_u64(o, "max_age_ns", b->max_age_ns);
		rc = rc ?: jset_u64(o, "max_pcap_size", b->max_pcap);
		rc = rc ?: jset(o, "disk_full", json_object_new_boolean(b->disk_full_since != 0));
		if (b->disk_full_since) {
			rc = rc ?: jset(o, "disk_full_since",
					json_object_new_string(pr_fmt_time(b->disk_full_since, t)));
			rc = rc ?: jset_u64(o, "disk_full_since_ns", b->disk_full_since);
		}
		p = json_object_new_object();
		r = json_object_new_object();
		rc = rc ?: jset(o, "prunes", p);
		rc = rc ?: jset_u64(p, "count", b->prunes);
		rc = rc ?: jset_u64(p, "incidents", b->incidents);
		rc = rc ?: jset_u64(p, "bytes", b->bytes);
		rc = rc ?: jset(p, "by_reason", r);
		for (int i = 0; i < PR_PRUNE__COUNT; i++)
			rc = rc ?: jset_u64(r, pr_prune_reason_name(i), b->by_reason[i]);
		if (b->prunes) {
			struct json_object *l = json_object_new_object();

			rc = rc ?: jset(p, "last", l);
			rc = rc ?: jset(l, "time", json_object_new_string(pr_fmt_time(b->last_time, t)));
			rc = rc ?: jset_u64(l, "time_ns", b->last_time);
			rc = rc ?: jset(l, "reason", json_object_new_string(b->last_reason));
			rc = rc ?: jset_u64(l, "incidents", b->last_incidents);
			rc = rc ?: jset(l, "first_id", json_object_new_int64(b->last_first_id));
			rc = rc ?: jset(l, "last_id", json_object_new_int64(b->last_last_id));
			rc = rc ?: jset_u64(l, "bytes", b->last_bytes);
		}
	}
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int print_stats(struct pr_store *s, const struct pr_stats *st)
{
	struct pr_budget_info bi;
	struct json_object *o;

	if (pr_store_budget_info(s, &bi))
		return -1;
	if (!json_output) {
		if (printf("store:       ") < 0 || pr_esc_puts(stdout, store_dir, 0) ||
		    printf(" (schema %d)\n", pr_store_schema_version(s)) < 0)
			return -1;
		return pr_text_stats(stdout, st) ?: print_budget_text(&bi);
	}
	o = pr_json_stats(st);
	if (!o)
		return -1;
	if (pr_json_add_str(o, "store", store_dir) ||
	    json_object_object_add(o, "schema_version",
				   json_object_new_int(pr_store_schema_version(s))) ||
	    jset(o, "budget", budget_json(&bi))) {
		json_object_put(o);
		return -1;
	}
	return emit_json(o);
}

static int do_stats(int argc, char **argv)
{
	struct pr_stats st = { 0 };
	struct pr_store *s;
	int ret, first;

	ret = parse_plain(argc, argv, 0, NULL, &first, true);
	if (ret != OPT_NEXT)
		return ret;
	if (open_store(&s))
		return EXIT_ERROR;
	if (pr_store_stats(s, &st) < 0) {
		ret = store_err(s);
	} else {
		output_begin(true);
		ret = print_stats(s, &st) ? output_err() : EXIT_FOUND;
		pr_stats_free(&st);
	}
	pr_store_close(s);
	return ret;
}

/* ---- policies: the stored policy versions ---- */

static int print_policy_list(const struct pr_policy_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (json_output ? emit_json(pr_json_policy_version(&l->v[i]))
				: pr_text_policy_version(stdout, &l->v[i]))
			return -1;
	return 0;
}

/* The text line by line, each line escaped like every stored string (a
 * damaged store must not drive the terminal); a policy file as written
 * (printable UTF-8, spaces) comes out unchanged. --json has the raw bytes. */
static int print_policy_text(const struct pr_policy_version *v)
{
	const char *p = v->text, *end = v->text + v->text_len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (pr_esc_write(stdout, p, (size_t)((nl ? nl : end) - p), 0) ||
		    fputc('\n', stdout) == EOF)
			return -1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* polq policies: one line per version; polq policies ID: its text (JSON:
 * the version with "text"). */
static int do_policies(int argc, char **argv)
{
	struct pr_policy_list l;
	struct pr_store *s;
	int64_t id = 0;
	int ret, first;

	ret = parse_plain(argc, argv, -1, NULL, &first, true);
	if (ret != OPT_NEXT)
		return ret;
	if (first < argc && !parse_incident_id(argv[first], &id))
		return p_err("policies: '%s' is not a policy version ID", argv[first]);
	if (open_store(&s))
		return EXIT_ERROR;
	ret = id ? pr_store_get_policy_version(s, id, &l) : pr_store_policy_versions(s, &l);
	if (ret < 0) {
		ret = store_err(s);
	} else if (ret > 0 || !l.n) {
		ret = id ? p_none("no policy version %" PRId64, id)
			 : p_none("no policy versions stored (a store older than schema 6, or "
				  "polrecd never started on it)");
	} else if (id && !json_output) {
		ret = print_policy_text(&l.v[0]) ? output_err() : EXIT_FOUND;
	} else {
		ret = print_policy_list(&l) ? output_err() : EXIT_FOUND;
	}
	pr_policy_list_free(&l);
	pr_store_close(s);
	return ret;
}

/* ---- verify, checkpoint, export, verify-bundle ---- */

enum { OPT_FULL = 400, OPT_CHECKPOINT, OPT_PUBKEY, OPT_KEY, OPT_FORCE2 };

struct verify_args {
	bool full;
	const char *checkpoint, *pubkey;
};

static int parse_verify(int argc, char **argv, struct verify_args *a)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "full", no_argument, NULL, OPT_FULL },
		{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
		{ "pubkey", required_argument, NULL, OPT_PUBKEY },
		{ 0 },
	};
	int c, ret;

	getopt_reset();
	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS, opts, NULL)) != -1) {
		ret = OPT_NEXT;
		if (c == OPT_FULL)
			a->full = true;
		else if (c == OPT_CHECKPOINT)
			a->checkpoint = optarg;
		else if (c == OPT_PUBKEY)
			a->pubkey = optarg;
		else
			ret = common_opt(c, argv);
		if (ret != OPT_NEXT)
			return ret;
	}
	if (optind < argc)
		return p_err("verify: unexpected argument '%s'", argv[optind]);
	if (!a->checkpoint != !a->pubkey)
		return p_err("verify: --checkpoint FILE and --pubkey PUB.pem go together");
	return format_check();
}

static int verify_report(const struct verify_args *a, int bad, const struct pr_verify_result *r)
{
	struct json_object *o;
	char hash[65];

	pr_hex(r->head_hash, PR_SHA256_LEN, hash);
	if (json_output) {
		o = json_object_new_object();
		if (!o)
			return output_err();
		json_object_object_add(o, "sound", json_object_new_boolean(!bad));
		if (bad)
			pr_json_add_str(o, "problem", r->msg);
		json_object_object_add(o, "records", json_object_new_int64(r->records));
		if (!bad) {
			json_object_object_add(o, "head_seq", json_object_new_int64(r->head_seq));
			json_object_object_add(o, "head_hash", json_object_new_string(hash));
			json_object_object_add(o, "store_id", json_object_new_string(r->store_id));
			json_object_object_add(o, "pruned", json_object_new_int64(r->pruned));
			json_object_object_add(o, "full", json_object_new_boolean(a->full));
			json_object_object_add(o, "segments_checked",
					       json_object_new_int64(r->segments_checked));
			if (a->checkpoint)
				pr_json_add_str(o, "checkpoint", a->checkpoint);
		}
		if (emit_json(o))
			return output_err();
	}
	if (bad)
		return p_none("%s", r->msg);
	if (json_output)
		return EXIT_FOUND;
	if (printf("chain sound: %" PRId64 " records, head %" PRId64 " %s, store id %s\n",
		   r->records, r->head_seq, hash, r->store_id) < 0)
		return output_err();
	if (r->pruned && printf("  %" PRId64 " records' rows were removed by prune records\n",
				r->pruned) < 0)
		return output_err();
	if (a->checkpoint && (printf("  checkpoint ") < 0 || pr_esc_puts(stdout, a->checkpoint, 0) ||
			      printf(": signature good, the chain still holds it\n") < 0))
		return output_err();
	if (a->full && printf("  integrity_check ok, %" PRId64 " pcap segment files match\n",
			      r->segments_checked) < 0)
		return output_err();
	return EXIT_FOUND;
}

static int do_verify(int argc, char **argv)
{
	struct verify_args a = { 0 };
	struct pr_verify_result r;
	struct pr_checkpoint cp;
	struct pr_verify_opts o = { 0 };
	struct pr_store *s;
	char err[512];
	int ret, bad;

	ret = parse_verify(argc, argv, &a);
	if (ret != OPT_NEXT)
		return ret;
	if (a.checkpoint) {
		if (pr_checkpoint_read(a.checkpoint, a.pubkey, &cp, err, sizeof(err))) {
			/* a checkpoint that fails its signature is evidence, not usage */
			if (strstr(err, "bad signature"))
				return p_none("%s", err);
			return p_err("%s", err);
		}
		o.cp = &cp;
		o.cp_name = a.checkpoint;
	}
	o.full = a.full;
	if (open_store(&s))
		return EXIT_ERROR;
	bad = pr_chain_verify(s, &o, &r);
	ret = bad < 0 ? store_err(s) : verify_report(&a, bad, &r);
	pr_store_close(s);
	return ret;
}

struct out_args {
	const char *out, *key;
	bool force;
	int64_t id;
};

static int parse_out(int argc, char **argv, struct out_args *a, bool want_id, bool want_key)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, OPT_FORCE2 },
		{ "key", required_argument, NULL, OPT_KEY },
		{ 0 },
	};
	int c, ret;

	getopt_reset();
	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "o:", opts, NULL)) != -1) {
		ret = OPT_NEXT;
		if (c == 'o')
			a->out = optarg;
		else if (c == OPT_FORCE2)
			a->force = true;
		else if (c == OPT_KEY && want_key)
			a->key = optarg;
		else if (c == OPT_KEY)
			ret = p_err("%s: unknown option '--key'", argv[0]);
		else
			ret = common_opt(c, argv);
		if (ret != OPT_NEXT)
			return ret;
	}
	if (argc - optind != (want_id ? 1 : 0))
		return want_id && argc == optind
			? p_err("%s: expected an incident ID (try 'polq help')", argv[0])
			: p_err("%s: unexpected argument '%s'", argv[0], argv[argc - 1]);
	if (want_id && !parse_incident_id(argv[optind], &a->id))
		return p_err("%s: '%s' is not an incident ID", argv[0], argv[optind]);
	if (!a->out || !*a->out || !strcmp(a->out, "-"))
		return p_err("%s: -o %s is required", argv[0], want_id ? "DIR" : "FILE");
	if (want_key && !a->key)
		return p_err("%s: --key PRIVATE_KEY.pem is required", argv[0]);
	return format_check();
}

/* The signing key must not live in the store it vouches for. */
static bool inside_store(const char *path)
{
	char *k = realpath(path, NULL), *d = realpath(store_dir, NULL);
	bool in = k && d && !strncmp(k, d, strlen(d)) && k[strlen(d)] == '/';

	free(k);
	free(d);
	return in;
}

static int write_checkpoint(const struct out_args *a, const char *text)
{
	struct outfile o;
	FILE *f = outfile_open(&o, a->out, a->force, "checkpoint");

	if (!f)
		return EXIT_ERROR;
	return outfile_close(&o, f, fputs(text, f) >= 0, "checkpoint");
}

static int do_checkpoint(int argc, char **argv)
{
	struct out_args a = { 0 };
	struct pr_verify_result r;
	struct pr_checkpoint cp = { 0 };
	struct pr_store *s;
	char err[512], hash[65], *text;
	int ret, bad;

	ret = parse_out(argc, argv, &a, false, true);
	if (ret != OPT_NEXT)
		return ret;
	if (inside_store(a.key))
		return p_err("checkpoint: the key %s is inside the store; keep it elsewhere", a.key);
	if (open_store(&s))
		return EXIT_ERROR;
	bad = pr_chain_verify(s, NULL, &r);
	if (bad) {
		ret = bad < 0 ? store_err(s) : p_none("refusing to sign a damaged chain: %s", r.msg);
		pr_store_close(s);
		return ret;
	}
	pr_store_close(s);
	memcpy(cp.store_id, r.store_id, sizeof(cp.store_id));
	cp.seq = r.head_seq;
	memcpy(cp.hash, r.head_hash, PR_SHA256_LEN);
	cp.time = now_ns();
	text = pr_checkpoint_make(&cp, store_dir, a.key, err, sizeof(err));
	if (!text)
		return p_err("checkpoint: %s", err);
	ret = write_checkpoint(&a, text);
	free(text);
	if (ret)
		return ret;
	pr_hex(cp.hash, PR_SHA256_LEN, hash);
	if (json_output) {
		struct json_object *o = json_object_new_object();

		if (!o)
			return output_err();
		pr_json_add_str(o, "file", a.out);
		json_object_object_add(o, "seq", json_object_new_int64(cp.seq));
		json_object_object_add(o, "hash", json_object_new_string(hash));
		json_object_object_add(o, "store_id", json_object_new_string(cp.store_id));
		return emit_json(o) ? output_err() : EXIT_FOUND;
	}
	if (printf("checkpoint ") < 0 || pr_esc_puts(stdout, a.out, 0) ||
	    printf(": chain head %" PRId64 " %s, store id %s\n", cp.seq, hash, cp.store_id) < 0)
		return output_err();
	return EXIT_FOUND;
}

/* ---- export -o ocsf|ecs: NDJSON for security pipelines (query/ocsf.h) ---- */

/* The value of -o/--output when it is exactly "ocsf" or "ecs", which
 * selects a format; any other value is export's bundle directory (a
 * directory named ocsf is "-o ./ocsf"). 0 when not a format. */
static int export_format(int argc, char **argv)
{
	static const char *const with_arg[] = { "--since", "--until", "--policy", "--severity",
						"--file", "--store", "-s", "--key" };

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *v = NULL;

		if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc)
			v = argv[i + 1];
		else if (!strncmp(argv[i], "--output=", 9))
			v = argv[i] + 9;
		else if (!strncmp(argv[i], "-o", 2) && argv[i][2])
			v = argv[i] + 2;
		if (v)
			return !strcmp(v, "ocsf") ? PR_FMT_OCSF : !strcmp(v, "ecs") ? PR_FMT_ECS : 0;
		for (size_t k = 0; k < sizeof(with_arg) / sizeof(with_arg[0]); k++)
			if (!strcmp(argv[i], with_arg[k]))
				i++;
	}
	return 0;
}

enum { OPT_XFILE = 500 };

struct xport_args {
	struct pr_query q;
	const char *file;
	bool force, until_set;
	int64_t *ids;
	size_t nids;
};

static int parse_xport(int argc, char **argv, struct xport_args *a)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "severity", required_argument, NULL, OPT_SEVERITY },
		{ "file", required_argument, NULL, OPT_XFILE },
		{ "force", no_argument, NULL, OPT_FORCE2 },
		{ 0 },
	};
	int c, ret;

	getopt_reset();
	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "o:", opts, NULL)) != -1) {
		ret = OPT_NEXT;
		if (c == 'o') /* the format, read by export_format */
			continue;
		if (c == OPT_SINCE)
			ret = parse_when("--since", optarg, &a->q.since);
		else if (c == OPT_UNTIL)
			ret = parse_when("--until", optarg, &a->q.until), a->until_set = true;
		else if (c == OPT_POLICY)
			a->q.policy = optarg;
		else if (c == OPT_SEVERITY && valid_severity(optarg))
			a->q.severity = optarg;
		else if (c == OPT_SEVERITY)
			ret = p_err("--severity '%s': want low, medium, high or critical", optarg);
		else if (c == OPT_XFILE)
			a->file = optarg;
		else if (c == OPT_FORCE2)
			a->force = true;
		else
			ret = common_opt(c, argv);
		if (ret != OPT_NEXT)
			return ret;
	}
	if (a->file && (!*a->file || !strcmp(a->file, "-")))
		return p_err("export: --file wants a file name (stdout is the default)");
	/* as for incidents: since after until is a mistake, and until the
	 * epoch itself matches nothing (0 would read as unbounded) */
	if (a->until_set && a->q.since > a->q.until)
		return p_err("--since is after --until");
	if (a->until_set && !a->q.until)
		return p_none("no incidents match");
	a->nids = (size_t)(argc - optind);
	a->ids = calloc(a->nids + 1, sizeof(*a->ids));
	if (!a->ids)
		return output_err();
	for (size_t i = 0; i < a->nids; i++)
		if (!parse_incident_id(argv[optind + (int)i], &a->ids[i]))
			return p_err("export: '%s' is not an incident ID", argv[optind + (int)i]);
	return OPT_NEXT;
}

struct xport_ctx {
	struct xport_args *a;
	int64_t *ids; /* matching the filters, oldest first */
	size_t n, cap;
	bool nomem;   /* the list is incomplete: the export must fail */
};

static int xport_collect(const struct pr_incident_rec *inc, void *arg)
{
	struct xport_ctx *x = arg;

	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 256;
		int64_t *v = realloc(x->ids, cap * sizeof(*v));

		if (!v) {
			x->nomem = true;
			return 1;
		}
		x->ids = v;
		x->cap = cap;
	}
	x->ids[x->n++] = inc->id;
	return 0;
}

static bool xport_wanted(const struct xport_ctx *x, int64_t id)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->ids[i] == id)
			return true;
	return false;
}

/* Write every selected incident; returns the exit status. */
static int xport_write(struct pr_store *s, struct xport_ctx *x, int fmt, FILE *f)
{
	struct xport_args *a = x->a;
	size_t n = a->nids ? a->nids : x->n, written = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t id = a->nids ? a->ids[i] : x->ids[i];
		char *buf;
		size_t len;
		int rc;

		if (a->nids && !xport_wanted(x, id)) {
			fprintf(stderr, "polq: export: no incident %" PRId64 " (matching the filters)\n",
				id);
			continue;
		}
		rc = pr_export_render(s, id, fmt, &buf, &len);
		if (rc < 0)
			return errno == ENOMEM ? output_err() : store_err(s);
		if (rc > 0)
			continue;
		rc = fwrite(buf, 1, len, f) == len ? 0 : -1;
		free(buf);
		if (rc)
			return output_err();
		written++;
	}
	if (fflush(f) || ferror(f))
		return output_err();
	return written ? EXIT_FOUND : p_none("export: no incidents to export");
}

static int do_export_format(int argc, char **argv, int fmt)
{
	struct xport_args a = { 0 };
	struct xport_ctx x = { .a = &a };
	struct pr_store *s = NULL;
	struct outfile of = { 0 };
	FILE *f = stdout;
	int ret;

	ret = parse_xport(argc, argv, &a);
	if (ret != OPT_NEXT)
		goto out;
	if (open_store(&s)) {
		ret = EXIT_ERROR;
		goto out;
	}
	if (pr_store_list_incidents(s, &a.q, xport_collect, &x) < 0) {
		ret = store_err(s);
		goto out;
	}
	if (x.nomem) {
		ret = p_err("export: out of memory listing the incidents");
		goto out;
	}
	if (a.file) {
		f = outfile_open(&of, a.file, a.force, "export");
		if (!f) {
			ret = EXIT_ERROR;
			goto out;
		}
	}
	ret = xport_write(s, &x, fmt, f);
	/* the file is put in place only with a complete export */
	if (a.file) {
		int cret = outfile_close(&of, f, ret == EXIT_FOUND, "export");

		ret = cret ? cret : ret;
	}
out:
	pr_store_close(s);
	free(a.ids);
	free(x.ids);
	return ret;
}

static int do_export(int argc, char **argv)
{
	struct out_args a = { 0 };
	struct pr_store *s;
	char err[1024];
	int ret, fmt = export_format(argc, argv);

	if (fmt)
		return do_export_format(argc, argv, fmt);
	ret = parse_out(argc, argv, &a, true, false);
	if (ret != OPT_NEXT)
		return ret;
	if (open_store(&s))
		return EXIT_ERROR;
	ret = pr_bundle_write(s, a.id, a.out, a.force, err, sizeof(err));
	pr_store_close(s);
	if (ret == 1)
		return p_none("no incident %" PRId64, a.id);
	if (ret == 2)
		return p_err("export: %s exists (use --force to write into it)", a.out);
	if (ret)
		return p_err("export: %s", err);
	if (json_output) {
		struct json_object *o = json_object_new_object();

		if (!o)
			return output_err();
		json_object_object_add(o, "incident", json_object_new_int64(a.id));
		pr_json_add_str(o, "bundle", a.out);
		return emit_json(o) ? output_err() : EXIT_FOUND;
	}
	if (printf("incident %" PRId64 " exported to ", a.id) < 0 ||
	    pr_esc_puts(stdout, a.out, 0) ||
	    printf(" (incident.json, incident.pcap, incident.pcapng, chain.json, MANIFEST)\n") < 0)
		return output_err();
	return EXIT_FOUND;
}

static int do_verify_bundle(int argc, char **argv)
{
	char msg[1024];
	int ret, first, files, records;

	ret = parse_plain(argc, argv, 1, "a bundle directory", &first, false);
	if (ret != OPT_NEXT)
		return ret;
	ret = pr_bundle_verify(argv[first], &files, &records, msg, sizeof(msg));
	if (ret < 0)
		return p_err("verify-bundle: %s", msg);
	if (json_output) {
		struct json_object *o = json_object_new_object();

		if (!o)
			return output_err();
		json_object_object_add(o, "sound", json_object_new_boolean(!ret));
		if (ret)
			pr_json_add_str(o, "problem", msg);
		json_object_object_add(o, "files", json_object_new_int(files));
		json_object_object_add(o, "chain_records", json_object_new_int(records));
		if (emit_json(o))
			return output_err();
	}
	if (ret)
		return p_none("%s", msg);
	if (!json_output && (printf("bundle ") < 0 || pr_esc_puts(stdout, argv[first], 0) ||
			     printf(": %d files match MANIFEST, %d chain records consistent\n",
				    files, records) < 0))
		return output_err();
	return EXIT_FOUND;
}

/* ---- help, version, dispatch ---- */

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return EXIT_FOUND;
}

static int do_version(void)
{
	struct json_object *o;

	if (!json_output)
		return printf("polq " POLREC_VERSION "\n") < 0 ? output_err() : EXIT_FOUND;
	o = json_object_new_object();
	if (!o || pr_json_add_str(o, "version", POLREC_VERSION)) {
		json_object_put(o);
		return output_err();
	}
	return emit_json(o) ? output_err() : EXIT_FOUND;
}

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	bool listing; /* takes -o FORMAT (else -o, if any, is a path) */
};

static const struct cmd cmds[] = {
	{ "incidents", do_incidents, true },
	{ "show", do_show, true },
	{ "timeline", do_timeline, true },
	{ "tree", do_tree, true },
	{ "pcap", do_pcap, false },
	{ "stats", do_stats, true },
	{ "policies", do_policies, true },
	{ "verify", do_verify, false },
	{ "verify-bundle", do_verify_bundle, false },
	{ "checkpoint", do_checkpoint, false },
	{ "export", do_export, false },
	{ "help", do_help, false },
	{ 0 },
};

/* An exact name, or the command the prefix selects; *other set too when
 * the prefix is ambiguous; NULL when unknown. */
static const struct cmd *cmd_find(const char *name, const struct cmd **other)
{
	const struct cmd *c, *match = NULL;
	size_t len = strlen(name);

	*other = NULL;
	for (c = cmds; len && c->name; c++) {
		if (strncmp(c->name, name, len))
			continue;
		if (!c->name[len]) {
			*other = NULL;
			return c;
		}
		if (!match)
			match = c;
		else if (!*other)
			*other = c;
	}
	return match;
}

static int cmd_select(int argc, char **argv)
{
	const struct cmd *match, *other;

	match = cmd_find(argv[0], &other);
	if (other)
		return p_err("ambiguous command '%s': %s or %s?", argv[0], match->name,
			     other->name);
	if (!match)
		return p_err("unknown command '%s' (try 'polq help')", argv[0]);
	cmd_name = match->name;
	return match->func(argc, argv);
}

/* The value of -o/--output in argv[*i] (consuming the next word for the
 * separate form), or NULL. */
static const char *output_arg(int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (!strcmp(a, "-o") || !strcmp(a, "--output"))
		return *i + 1 < argc ? argv[++*i] : NULL;
	if (!strncmp(a, "--output=", 9))
		return a + 9;
	if (!strncmp(a, "-o", 2))
		return a + 2;
	return NULL;
}

/* JSON mode must be known before the first error is reported, and --json
 * or -o json may come after the option in error: look ahead. The last
 * one given wins, as in parsing. -o is a format before the command and
 * after a listing command; after pcap, export and checkpoint a path. */
static bool wants_json(int argc, char **argv)
{
	const struct cmd *c = NULL, *other;
	bool json = false, command = false;
	const char *v;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json") || !strcmp(a, "-j")) {
			json = true;
			continue;
		}
		if (!command && (!strcmp(a, "--store") || !strcmp(a, "-s"))) {
			i++;
			continue;
		}
		if (!command && a[0] != '-') {
			command = true;
			c = cmd_find(a, &other);
			continue;
		}
		if (command && (!c || !c->listing))
			continue;
		v = output_arg(argc, argv, &i);
		if (v)
			json = !strcmp(v, "json");
	}
	return json;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		LIST_LONGOPTS,
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *env = getenv("POLREC_STORE");
	int c, ret;

	if (env && *env)
		store_dir = env;
	set_format(FMT_TEXT);
	color_mode = PR_COLOR_AUTO;
	no_pager = false;
	cmd_name = NULL;
	reader_gone = false;
	pr_text_color(false);
	json_output = wants_json(argc, argv);
	opterr = 0;
	/* '+': stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+" LIST_SHORTOPTS "V", opts, NULL)) != -1) {
		if (c == 'V')
			return do_version();
		ret = c == 'o' ? format_opt(optarg) : common_opt(c, argv);
		if (ret != OPT_NEXT)
			return ret;
	}
	if (optind >= argc)
		return p_err("missing command (try 'polq help')");
	return cmd_select(argc - optind, argv + optind);
}

int main(int argc, char **argv)
{
	int ret = run(argc, argv);

	if (!reader_gone && (fflush(stdout) || ferror(stdout)) &&
	    !reader_quit(errno, false)) {
		json_output = false; /* stdout is what failed */
		ret = p_err("writing output: %s", strerror(errno));
	}
	pr_pager_end();
	return ret;
}
