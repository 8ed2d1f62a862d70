/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * polq's renderers: safe printing of untrusted bytes, time formatting and
 * parsing, and the text and JSON forms of incidents, incident details,
 * process trees and store statistics.
 *
 * Every string that comes from the store may hold any byte but NUL (file
 * names with newlines, invalid UTF-8). Two rules keep output honest:
 *
 * - Text: every byte that is not printable ASCII and not part of a
 *   printable UTF-8 character is escaped C-style: \n \t \r \\ and \xNN
 *   (always exactly two hex digits), so a file name can never forge a line
 *   or hide behind terminal or bidi control characters.
 * - JSON: valid UTF-8 passes through (json-c escapes control characters).
 *   Each byte that is not part of a valid UTF-8 sequence becomes U+FFFD,
 *   and the object gets a sibling "<key>_b64" holding the exact raw bytes
 *   in base64 (for argv: an "argv_b64" array parallel to "argv"), so
 *   nothing is lost and the sibling is present only when needed.
 *
 * JSON constructors return a new object (caller puts it) or NULL on
 * ENOMEM. Text renderers and pr_json_print return 0 or -1 on a write
 * error (errno set by stdio).
 */
#ifndef POLREC_RENDER_H
#define POLREC_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "schema/store.h"

struct json_object;

/* ---- safe bytes ---- */

/* pr_esc_*() flags */
#define PR_ESC_WORD 0x1u /* keep the field one word: quote it ("...") when it is
			  * empty or holds a space or a quote, and escape '"' */

/* Length (1..4) of the valid UTF-8 sequence at s[0..len) and its code
 * point in *cp; 0 when s does not start with one (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF). len must be > 0. */
size_t pr_utf8_seq(const unsigned char *s, size_t len, uint32_t *cp);
bool pr_utf8_valid(const char *s, size_t len);
/* A malloc'd, NUL-terminated copy of s[0..len) in which every byte that is
 * not part of a valid UTF-8 sequence is replaced by U+FFFD. */
char *pr_utf8_fix(const char *s, size_t len, size_t *outlen);

/* Standard base64 (RFC 4648, padded), malloc'd and NUL-terminated. */
char *pr_base64(const void *src, size_t len);

/* The C-style escaped form of s[0..len), malloc'd and NUL-terminated. */
char *pr_esc_dup(const char *s, size_t len, unsigned int flags);
/* Write the escaped form of s[0..len) (or of "" when s is NULL). */
int pr_esc_write(FILE *f, const char *s, size_t len, unsigned int flags);
int pr_esc_puts(FILE *f, const char *s, unsigned int flags);
/* Write argv (NUL-separated, len bytes) as words joined by spaces, each
 * escaped with PR_ESC_WORD. */
int pr_esc_argv(FILE *f, const char *argv, size_t len);

/* ---- JSON building blocks ---- */

/* obj[key] = s[0..len) as a string, plus obj[key + "_b64"] when s is not
 * valid UTF-8. s == NULL is "". Returns 0 or -1 (ENOMEM). */
int pr_json_add_bytes(struct json_object *obj, const char *key, const char *s, size_t len);
int pr_json_add_str(struct json_object *obj, const char *key, const char *s);
/* obj["argv"] = array of the NUL-separated words of argv[0..len), plus
 * obj["argv_b64"] (base64 of every word, same indexes) when any word is
 * not valid UTF-8. A trailing NUL does not start another word. */
int pr_json_add_argv(struct json_object *obj, const char *argv, size_t len);
/* obj[key] = RFC 3339 UTC time of epoch ns t. */
int pr_json_add_time(struct json_object *obj, const char *key, uint64_t t);

/* Print o as one line of plain JSON ('/' not escaped) and a newline. */
int pr_json_print(FILE *f, struct json_object *o);

/* ---- time ---- */

/* "2026-11-26T09:41:26.123456789Z" and its NUL */
#define PR_TIME_LEN 32

/* RFC 3339 UTC with 9 fractional digits of epoch ns t; returns buf. */
char *pr_fmt_time(uint64_t t, char buf[PR_TIME_LEN]);

/* "30s", "15m", "1h", "2d", "1w", "1h30m", "1h 30min", "500ms": one or more
 * <digits>[spaces]<unit>, parts optionally separated by spaces, into ns.
 * Units (systemd.time(7)): us usec, ms msec, s sec second(s), m min
 * minute(s), h hr hour(s), d day(s), w week(s). 0, -EINVAL (syntax),
 * -ERANGE (overflow). */
int pr_parse_duration(const char *s, uint64_t *ns);
/* RFC 3339: "2026-11-26T09:00:00Z", optional fraction (digits past the
 * ninth are ignored), "Z" or "+hh:mm"/"-hh:mm"; 't', 'z' and a space for
 * 'T' accepted. Into epoch ns. 0, -EINVAL, -ERANGE (before 1970, or past
 * what 64-bit ns hold). */
int pr_parse_rfc3339(const char *s, uint64_t *ns);
/* A --since/--until argument, the forms journalctl takes (now in epoch ns):
 * - RFC 3339 with "Z" or an offset (as pr_parse_rfc3339);
 * - local time, as mktime(3) reads $TZ: "YYYY-MM-DD", "YYYY-MM-DD HH:MM",
 *   "YYYY-MM-DD HH:MM:SS[.frac]" ('T' for the space too), and "HH:MM[:SS]"
 *   (today); "today", "yesterday", "tomorrow" (local midnight);
 * - "now"; "@SECONDS[.frac]" since the epoch;
 * - relative: "-DURATION" and "DURATION ago" before now, "+DURATION" after,
 *   and a bare "DURATION" (pr_parse_duration) that long before now.
 * 0, -EINVAL, -ERANGE (before 1970 or past 2554). */
int pr_parse_when(const char *s, uint64_t now, uint64_t *ns);

/* The accepted forms of pr_parse_when, one line for an error message. */
#define PR_WHEN_FORMS                                                           \
	"RFC 3339 (2026-11-26T09:00:00Z, 2026-11-26T10:00:00.5+01:00), local "  \
	"\"2026-11-26 09:00:00\", \"2026-11-26 09:00\", 2026-11-26 or 09:00, "      \
	"today, yesterday, tomorrow, now, @EPOCH, -1h, +5m, \"5min ago\" or 1h30m (ago)"

/* A signed offset from a reference time (an event relative to its
 * incident's violation), ms precision, truncated toward zero, always with
 * its sign: "+0.000s", "-12.300s", "+59.999s"; from one minute
 * "-1m02.300s"; from one hour "+2h03m04.500s" (hours unbounded). An event
 * a fraction of a ms before keeps its "-": "-0.000s". */
#define PR_OFFSET_LEN 32
char *pr_fmt_offset(int64_t ns, char buf[PR_OFFSET_LEN]);
/* t - ref in signed ns, saturated at INT64_MIN/INT64_MAX. */
int64_t pr_time_offset(uint64_t t, uint64_t ref);

/* ---- processes ---- */

/* "PID:START" (START = start_boot ns), the identity polq prints and takes. */
#define PR_PROCESS_ID_LEN 32
char *pr_fmt_process_id(uint32_t pid, uint64_t start_boot, char buf[PR_PROCESS_ID_LEN]);
/* "PID" (start_boot = 0) or "PID:START"; 0 or -EINVAL. PID must be > 0. */
int pr_parse_process_id(const char *s, uint32_t *pid, uint64_t *start_boot);

/* ---- renderers ---- */

/* The incident as `polq incidents --json` prints it; network incidents
 * also get "network": {direction, protocol, src, sport, dst, dport, result}. */
struct json_object *pr_json_incident(const struct pr_incident_rec *inc);
/* The incident as `polq show --json` prints it: the above plus "who"
 * (uid, user, loginuid, sessionid, cgroup, cgroup_id, container_id, sha256,
 * cwd),
 * "lineage" (violator first, up to pid 1), "events" (each also with
 * "offset_ns", signed, relative to the incident's time, and "mark":
 * "violation" | "joined" | "context"), "gaps" (loss records overlapping
 * the incident's window: {from, from_ns, to, to_ns, stage, kind, count})
 * and "lost_events"; network incidents (and any with flows) also "flows",
 * each pr_json_flow. Both forms carry "violations" and, when known,
 * "follow_until" (RFC 3339) and "follow_until_ns". */
struct json_object *pr_json_incident_full(const struct pr_incident_full *f);
/* A stored policy version (its text too when v->text is set). */
struct json_object *pr_json_policy_version(const struct pr_policy_version *v);
/* "ID  TIME  SHA256  N expectations  N incidents  SOURCE" */
int pr_text_policy_version(FILE *f, const struct pr_policy_version *v);
/* One lineage entry: pid, ppid, exe, argv, uid, user, start_time
 * (start_boot ns), process_id, started (RFC 3339), and exited/exit_code
 * once it has exited. */
struct json_object *pr_json_process(const struct pr_proc_rec *p);
/* `polq tree --json` for process p: {"process", "lineage" (p first, up to
 * the oldest known ancestor), "children"}. */
struct json_object *pr_json_tree(const struct pr_proc_rec *p,
				 const struct pr_proc_list *lineage,
				 const struct pr_proc_list *children);
struct json_object *pr_json_stats(const struct pr_stats *st);
/* {flow_id, time, role, protocol, local, lport, remote, rport, pid,
 * process_id, exe, packets, bytes, payload, payload_b64}: payload is the
 * head with every byte that is not printable ASCII shown as '.' (as
 * tcpdump -A does), payload_b64 the raw head. */
struct json_object *pr_json_flow(const struct pr_flow_rec *f);
/* The head as text: printable ASCII kept, anything else '.'; malloc'd. */
char *pr_payload_text(const uint8_t *head, size_t len);

/* The mark of event i of the incident as shown: the stored marks; when
 * no event is marked the violation (stores before version 3, or a writer
 * that does not mark), the event of the violator at the incident's time
 * is the violation. */
enum pr_event_mark pr_event_mark_of(const struct pr_incident_full *full, size_t i);
/* "context", "violation", "joined" */
const char *pr_mark_name(int mark);

/* `polq timeline`: one recorded event, "=> " before violations (joined
 * ones end "(joined)" after their kind), then TIME KIND PID:START PATH
 * [from=PATH2] [DETAIL]  incident ID. */
int pr_text_timeline_event(FILE *f, const struct pr_event_rec *e, int64_t incident_id);
/* {time, time_ns, kind, pid, process_id, path, path2 (when set), detail,
 * mark, incident} */
struct json_object *pr_json_timeline_event(const struct pr_event_rec *e, int64_t incident_id);

/* Colour in the text renderers (default off; polq turns it on for a
 * terminal): severity words and the violation's lines. The only bytes
 * added are these SGR codes, around already escaped text, so no stored
 * byte can start, end or forge one. */
#define PR_SGR_CRITICAL "\033[1;31m"
#define PR_SGR_HIGH "\033[31m"
#define PR_SGR_MEDIUM "\033[33m"
#define PR_SGR_LOW "\033[36m"
#define PR_SGR_VIOLATION "\033[1;35m"
#define PR_SGR_RESET "\033[0m"
void pr_text_color(bool on);

/* One line: ID TIME SEVERITY POLICY RULE KIND PID EXE PATH. */
int pr_text_incident_line(FILE *f, const struct pr_incident_rec *inc);
/* The story: WHAT (with "violations:" and, when known, "follow window:"),
 * WHO, WHEN, HOW (lineage from pid 1 down, then the events as a timeline:
 * each line the offset from the violation (pr_fmt_offset, right-aligned),
 * the time, kind, pid, path, detail; violations marked "=>", joined ones
 * with "(joined)" after their kind), a "gaps:" section when events were
 * lost around the incident, and for network incidents a "network:" line
 * in WHAT and a "flows:" section. */
int pr_text_incident_full(FILE *f, const struct pr_incident_full *full);
/* "  tcp 127.0.0.1:40000 -> 10.0.0.2:80  violation  5 packets 612 bytes  GET /..."
 * (IPv6 addresses in brackets). */
int pr_text_flow_line(FILE *f, const struct pr_flow_rec *fl);
/* Lineage (p first, as the store returns it) printed from the oldest known
 * ancestor down to p (marked "=>"), then p's recorded children. */
int pr_text_tree(FILE *f, const struct pr_proc_rec *p, const struct pr_proc_list *lineage,
		 const struct pr_proc_list *children);
int pr_text_stats(FILE *f, const struct pr_stats *st);

#endif /* POLREC_RENDER_H */
