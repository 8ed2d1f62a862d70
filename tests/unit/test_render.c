// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests of query/render.c: escaping, JSON validity and the b64
 * siblings, time formatting and parsing, the incident renderers, and an
 * end-to-end pass through a real temporary store. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "probes/events.h"
#include "query/render.h"
#include "schema/store.h"

#define NS 1000000000ull

/* ---- helpers ---- */

static char *esc(const char *s, size_t len, unsigned int flags)
{
	char *e = pr_esc_dup(s, len, flags);

	assert_non_null(e);
	return e;
}

static void assert_esc(const char *in, size_t len, unsigned int flags, const char *want)
{
	char *e = esc(in, len, flags);

	assert_string_equal(e, want);
	free(e);
}

/* Serialize o as polq prints it, check the line is valid UTF-8 and one
 * line, parse it back with json_tokener and return the parsed copy. */
static struct json_object *roundtrip(struct json_object *o)
{
	struct json_tokener *tok;
	struct json_object *back;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(o);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(pr_json_print(f, o), 0);
	assert_int_equal(fclose(f), 0);
	assert_true(len > 0);
	assert_int_equal(buf[len - 1], '\n');
	assert_null(memchr(buf, '\n', len - 1));
	assert_true(pr_utf8_valid(buf, len));

	tok = json_tokener_new();
	assert_non_null(tok);
	back = json_tokener_parse_ex(tok, buf, (int)len - 1);
	assert_int_equal(json_tokener_get_error(tok), json_tokener_success);
	assert_int_equal(json_tokener_get_parse_end(tok), len - 1);
	assert_non_null(back);
	json_tokener_free(tok);
	free(buf);
	json_object_put(o);
	return back;
}

static struct json_object *get(struct json_object *o, const char *key, json_type type)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("missing key \"%s\"", key);
	if (!json_object_is_type(v, type))
		fail_msg("key \"%s\" has type %s", key, json_type_to_name(json_object_get_type(v)));
	return v;
}

static void assert_absent(struct json_object *o, const char *key)
{
	if (json_object_object_get_ex(o, key, NULL))
		fail_msg("unexpected key \"%s\"", key);
}

static const char *get_str(struct json_object *o, const char *key)
{
	return json_object_get_string(get(o, key, json_type_string));
}

static int64_t get_int(struct json_object *o, const char *key)
{
	return json_object_get_int64(get(o, key, json_type_int));
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	return json_object_get_uint64(get(o, key, json_type_int));
}

/* Render with a text renderer into a string. */
#define TEXT(call, out)                                              \
	do {                                                         \
		size_t _len = 0;                                     \
		FILE *f = open_memstream(&(out), &_len);             \
		assert_non_null(f);                                  \
		assert_int_equal((call), 0);                         \
		assert_int_equal(fclose(f), 0);                      \
	} while (0)

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- escaping for text ---- */

static void test_esc_plain(void **state)
{
	assert_esc("/etc/passwd", 11, 0, "/etc/passwd");
	assert_esc("", 0, 0, "");
	assert_esc("a b", 3, 0, "a b");
	assert_esc("\\", 1, 0, "\\\\");
	assert_esc("C:\\x41", 6, 0, "C:\\\\x41");
}

static void test_esc_controls(void **state)
{
	assert_esc("a\nb", 3, 0, "a\\nb");
	assert_esc("\t\r", 2, 0, "\\t\\r");
	assert_esc("\x1b[31m", 5, 0, "\\x1b[31m");
	assert_esc("\x7f", 1, 0, "\\x7f");
	assert_esc("\x01\x1f", 2, 0, "\\x01\\x1f");
	/* A forged log line stays on one line. */
	assert_esc("x\n42  2026-01-01T00:00:00.000000000Z  critical", 46, 0,
		   "x\\n42  2026-01-01T00:00:00.000000000Z  critical");
}

static void test_esc_utf8(void **state)
{
	assert_esc("caf\xc3\xa9", 5, 0, "caf\xc3\xa9");               /* é */
	assert_esc("\xe6\x97\xa5\xe6\x9c\xac", 6, 0, "\xe6\x97\xa5\xe6\x9c\xac"); /* 日本 */
	assert_esc("\xf0\x9f\x98\x80", 4, 0, "\xf0\x9f\x98\x80");     /* U+1F600 */
	assert_esc("\xff", 1, 0, "\\xff");
	assert_esc("\xc3", 1, 0, "\\xc3");                            /* lead byte alone */
	assert_esc("\xc3" "a", 2, 0, "\\xc3a");
	assert_esc("\xe6\x97", 2, 0, "\\xe6\\x97");                   /* truncated 日 */
	assert_esc("\xc0\xaf", 2, 0, "\\xc0\\xaf");                   /* overlong '/' */
	assert_esc("\xed\xa0\x80", 3, 0, "\\xed\\xa0\\x80");          /* surrogate */
	assert_esc("\xf4\x90\x80\x80", 4, 0, "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
}

static void test_esc_invisible(void **state)
{
	/* C1 control U+0085 (NEL), bidi override U+202E, line separator U+2028. */
	assert_esc("\xc2\x85", 2, 0, "\\xc2\\x85");
	assert_esc("a\xe2\x80\xae" "b", 5, 0, "a\\xe2\\x80\\xaeb");
	assert_esc("\xe2\x80\xa8", 3, 0, "\\xe2\\x80\\xa8");
	assert_esc("\xc2\xa0", 2, 0, "\xc2\xa0"); /* NBSP is printable */
}

static void test_esc_word(void **state)
{
	assert_esc("", 0, PR_ESC_WORD, "\"\"");
	assert_esc("plain", 5, PR_ESC_WORD, "plain");
	assert_esc("a b", 3, PR_ESC_WORD, "\"a b\"");
	assert_esc("say \"hi\"", 8, PR_ESC_WORD, "\"say \\\"hi\\\"\"");
	assert_esc("a\"b", 3, PR_ESC_WORD, "\"a\\\"b\"");
	assert_esc("a\nb", 3, PR_ESC_WORD, "a\\nb");
	/* Without the flag a quote is just a character. */
	assert_esc("a\"b", 3, 0, "a\"b");
}

static void test_esc_long(void **state)
{
	char path[4000];
	char *e;
	size_t i;

	for (i = 0; i < sizeof(path); i++)
		path[i] = "/a\n\xff"[i % 4];
	e = esc(path, sizeof(path), 0);
	/* "/" "a" "\n" "\xff" -> 1 + 1 + 2 + 4 bytes per 4 input bytes */
	assert_int_equal(strlen(e), sizeof(path) / 4 * 8);
	assert_null(strchr(e, '\n'));
	assert_true(pr_utf8_valid(e, strlen(e)));
	free(e);
}

static void test_esc_argv(void **state)
{
	static const char argv[] = "sh\0-c\0echo a b\0\0x\xff";
	char *out = NULL;

	TEXT(pr_esc_argv(f, argv, sizeof(argv) - 1), out);
	assert_string_equal(out, "sh -c \"echo a b\" \"\" x\\xff");
	free(out);
	TEXT(pr_esc_argv(f, NULL, 0), out);
	assert_string_equal(out, "");
	free(out);
}

/* ---- UTF-8 and base64 ---- */

static void test_utf8_fix(void **state)
{
	size_t len;
	char *s;

	assert_true(pr_utf8_valid("", 0));
	assert_true(pr_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", 12));
	assert_false(pr_utf8_valid("\xff", 1));
	assert_false(pr_utf8_valid("\xc3", 1));

	s = pr_utf8_fix("a\xff" "b", 3, &len);
	assert_non_null(s);
	assert_int_equal(len, 5);
	assert_string_equal(s, "a\xef\xbf\xbd" "b");
	free(s);
	/* Each stray byte becomes one U+FFFD. */
	s = pr_utf8_fix("\xe6\x97", 2, &len);
	assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = pr_utf8_fix("\xe6\x97\xa5", 3, &len);
	assert_string_equal(s, "\xe6\x97\xa5");
	free(s);
}

static void test_base64(void **state)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	size_t i;
	char *b;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		b = pr_base64(vec[i][0], strlen(vec[i][0]));
		assert_string_equal(b, vec[i][1]);
		free(b);
	}
	b = pr_base64("\xff\x00\xfe", 3);
	assert_string_equal(b, "/wD+");
	free(b);
}

/* ---- JSON strings ---- */

static struct json_object *one_field(const char *s, size_t len)
{
	struct json_object *o = json_object_new_object();

	assert_non_null(o);
	assert_int_equal(pr_json_add_bytes(o, "path", s, len), 0);
	return roundtrip(o);
}

static void test_json_valid_passes(void **state)
{
	static const char *const cases[] = {
		"", "/etc/passwd", "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "back\\slash",
		"new\nline", "tab\there", "quote\"d", "/slash/", "\x01\x1f\x7f",
	};
	struct json_object *o;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = one_field(cases[i], strlen(cases[i]));
		assert_string_equal(get_str(o, "path"), cases[i]);
		assert_absent(o, "path_b64");
		json_object_put(o);
	}
}

static void test_json_invalid_gets_b64(void **state)
{
	struct json_object *o;

	o = one_field("/tmp/x\nfake\xff", 12);
	assert_string_equal(get_str(o, "path"), "/tmp/x\nfake\xef\xbf\xbd");
	assert_string_equal(get_str(o, "path_b64"), "L3RtcC94CmZha2X/");
	json_object_put(o);

	o = one_field("a\xc3", 2);
	assert_string_equal(get_str(o, "path"), "a\xef\xbf\xbd");
	assert_string_equal(get_str(o, "path_b64"), "YcM=");
	json_object_put(o);

	o = one_field(NULL, 0);
	assert_string_equal(get_str(o, "path"), "");
	assert_absent(o, "path_b64");
	json_object_put(o);
}

static void test_json_long_path(void **state)
{
	char path[4001], *b64;
	struct json_object *o;
	size_t i;

	for (i = 0; i < 4000; i++)
		path[i] = (char)("/dir\n\xc3\xa9"[i % 7]);
	path[4000] = '\0';
	o = one_field(path, 4000);
	assert_string_equal(get_str(o, "path"), path);
	assert_absent(o, "path_b64");
	json_object_put(o);

	path[1234] = '\xff';
	o = one_field(path, 4000);
	b64 = pr_base64(path, 4000);
	assert_string_equal(get_str(o, "path_b64"), b64);
	assert_int_equal(json_object_get_string_len(get(o, "path", json_type_string)), 4000 + 2);
	free(b64);
	json_object_put(o);
}

static void test_json_argv(void **state)
{
	static const char bad[] = "sh\0b\xff\0\0";
	struct json_object *o, *argv, *b64;

	o = json_object_new_object();
	assert_int_equal(pr_json_add_argv(o, "ls\0-l\0caf\xc3\xa9\0", 11), 0);
	o = roundtrip(o);
	argv = get(o, "argv", json_type_array);
	assert_int_equal(json_object_array_length(argv), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(argv, 2)),
			    "caf\xc3\xa9");
	assert_absent(o, "argv_b64");
	json_object_put(o);

	o = json_object_new_object();
	assert_int_equal(pr_json_add_argv(o, bad, sizeof(bad) - 1), 0);
	o = roundtrip(o);
	argv = get(o, "argv", json_type_array);
	b64 = get(o, "argv_b64", json_type_array);
	assert_int_equal(json_object_array_length(argv), 3);
	assert_int_equal(json_object_array_length(b64), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(argv, 1)),
			    "b\xef\xbf\xbd");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(argv, 2)), "");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(b64, 0)), "c2g=");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(b64, 1)), "Yv8=");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(b64, 2)), "");
	json_object_put(o);

	o = json_object_new_object();
	assert_int_equal(pr_json_add_argv(o, NULL, 0), 0);
	o = roundtrip(o);
	assert_int_equal(json_object_array_length(get(o, "argv", json_type_array)), 0);
	json_object_put(o);
}

/* ---- time ---- */

static void test_fmt_time(void **state)
{
	char buf[PR_TIME_LEN];

	assert_string_equal(pr_fmt_time(0, buf), "1970-01-01T00:00:00.000000000Z");
	assert_string_equal(pr_fmt_time(1795686086ull * NS + 123456789, buf),
			    "2026-11-26T09:41:26.123456789Z");
	assert_string_equal(pr_fmt_time(1709251199ull * NS + 1, buf),
			    "2024-02-29T23:59:59.000000001Z");
	assert_string_equal(pr_fmt_time(UINT64_MAX, buf), "2554-07-21T23:34:33.709551615Z");
}

static void assert_rfc3339(const char *s, uint64_t want)
{
	uint64_t got = 0;

	if (pr_parse_rfc3339(s, &got))
		fail_msg("'%s' did not parse", s);
	assert_int_equal(got, want);
}

static void assert_rfc3339_err(const char *s, int err)
{
	uint64_t got = 77;

	assert_int_equal(pr_parse_rfc3339(s, &got), err);
	assert_int_equal(got, 77);
}

static void test_parse_rfc3339(void **state)
{
	const uint64_t t0 = 1795683600ull * NS; /* 2026-11-26T09:00:00Z */

	assert_rfc3339("2026-11-26T09:00:00Z", t0);
	assert_rfc3339("2026-11-26t09:00:00z", t0);
	assert_rfc3339("2026-11-26 09:00:00Z", t0);
	assert_rfc3339("2026-11-26T09:00:00.5Z", t0 + 500000000);
	assert_rfc3339("2026-11-26T09:00:00.123456789Z", t0 + 123456789);
	assert_rfc3339("2026-11-26T09:00:00.1234567899Z", t0 + 123456789);
	assert_rfc3339("2026-11-26T10:00:00+01:00", t0);
	assert_rfc3339("2026-11-26T03:30:00-05:30", t0);
	assert_rfc3339("2026-11-26T09:00:00+00:00", t0);
	assert_rfc3339("2026-11-26T09:00:00-00:00", t0);
	assert_rfc3339("1970-01-01T00:00:00Z", 0);
	assert_rfc3339("2000-01-01T00:00:00Z", 946684800ull * NS);
	assert_rfc3339("2024-02-29T23:59:59Z", 1709251199ull * NS);
	assert_rfc3339("2026-11-26T08:59:60Z", t0); /* leap second */
	assert_rfc3339("2554-07-21T23:34:33.709551615Z", UINT64_MAX);

	assert_rfc3339_err("", -EINVAL);
	assert_rfc3339_err("2026-11-26", -EINVAL);
	assert_rfc3339_err("2026-11-26T09:00:00", -EINVAL);       /* no zone */
	assert_rfc3339_err("2026-11-26T09:00Z", -EINVAL);
	assert_rfc3339_err("2026-11-26T09:00:00.Z", -EINVAL);
	assert_rfc3339_err("2026-11-26T09:00:00Zjunk", -EINVAL);
	assert_rfc3339_err("2026-11-26T09:00:00+0100", -EINVAL);
	assert_rfc3339_err("2026-13-01T00:00:00Z", -EINVAL);
	assert_rfc3339_err("2026-00-01T00:00:00Z", -EINVAL);
	assert_rfc3339_err("2026-02-29T00:00:00Z", -EINVAL);      /* not a leap year */
	assert_rfc3339_err("2026-04-31T00:00:00Z", -EINVAL);
	assert_rfc3339_err("2026-11-26T24:00:00Z", -EINVAL);
	assert_rfc3339_err("2026-11-26T09:60:00Z", -EINVAL);
	assert_rfc3339_err("2026-11-26T09:00:61Z", -EINVAL);
	assert_rfc3339_err("2026-11-26T09:00:00+24:00", -EINVAL);
	assert_rfc3339_err(" 2026-11-26T09:00:00Z", -EINVAL);
	assert_rfc3339_err("1969-12-31T23:59:59Z", -ERANGE);
	assert_rfc3339_err("1970-01-01T00:30:00+01:00", -ERANGE);
	assert_rfc3339_err("2554-07-21T23:34:34Z", -ERANGE);
	assert_rfc3339_err("9999-12-31T23:59:59Z", -ERANGE);
}

static void assert_duration(const char *s, uint64_t want)
{
	uint64_t got = 0;

	if (pr_parse_duration(s, &got))
		fail_msg("'%s' did not parse", s);
	assert_int_equal(got, want);
}

static void test_parse_duration(void **state)
{
	uint64_t v = 7;

	assert_duration("30s", 30 * NS);
	assert_duration("15m", 900 * NS);
	assert_duration("1h", 3600 * NS);
	assert_duration("2d", 2 * 86400 * NS);
	assert_duration("1w", 7 * 86400 * NS);
	assert_duration("1h30m", 5400 * NS);
	assert_duration("1d2h3m4s", (86400 + 7200 + 180 + 4) * NS);
	assert_duration("0s", 0);
	assert_duration("90m", 5400 * NS);

	assert_int_equal(pr_parse_duration("", &v), -EINVAL);
	assert_int_equal(pr_parse_duration("10", &v), -EINVAL);
	assert_int_equal(pr_parse_duration("h", &v), -EINVAL);
	assert_int_equal(pr_parse_duration("1x", &v), -EINVAL);
	assert_int_equal(pr_parse_duration("-1h", &v), -EINVAL);
	assert_int_equal(pr_parse_duration("1h ", &v), -EINVAL);
	assert_int_equal(pr_parse_duration("1.5h", &v), -EINVAL);
	assert_int_equal(pr_parse_duration("1mo", &v), -EINVAL); /* months: no */
	assert_int_equal(pr_parse_duration("99999999999999999999s", &v), -ERANGE);
	assert_int_equal(pr_parse_duration("1000000000d", &v), -ERANGE);
	assert_int_equal(v, 7);
}

static void test_parse_when(void **state)
{
	const uint64_t now = 1795686086ull * NS + 5;
	uint64_t v = 0;

	assert_int_equal(pr_parse_when("1h", now, &v), 0);
	assert_int_equal(v, now - 3600 * NS);
	assert_int_equal(pr_parse_when("1h30m", now, &v), 0);
	assert_int_equal(v, now - 5400 * NS);
	assert_int_equal(pr_parse_when("2026-11-26T09:00:00Z", now, &v), 0);
	assert_int_equal(v, 1795683600ull * NS);
	/* without a zone it is local time (journalctl's reading), here UTC;
	 * the local forms and words are tested in test_polq.c */
	setenv("TZ", "UTC0", 1);
	tzset();
	assert_int_equal(pr_parse_when("2026-11-26T09:00:00", now, &v), 0);
	assert_int_equal(v, 1795683600ull * NS);
	assert_int_equal(pr_parse_when("yesterday", now, &v), 0);
	assert_int_equal(v, (1795686086ull - 86400 - 1795686086ull % 86400) * NS);
	assert_int_equal(pr_parse_when("2026-11-26T09:00:00+", now, &v), -EINVAL);
	assert_int_equal(pr_parse_when("someday", now, &v), -EINVAL);
	assert_int_equal(pr_parse_when("100000w", now, &v), -ERANGE);
}

static void test_process_id(void **state)
{
	uint64_t start = 9;
	uint32_t pid = 9;
	char buf[PR_PROCESS_ID_LEN];

	assert_int_equal(pr_parse_process_id("1234", &pid, &start), 0);
	assert_int_equal(pid, 1234);
	assert_int_equal(start, 0);
	assert_int_equal(pr_parse_process_id("1234:5678000000", &pid, &start), 0);
	assert_int_equal(pid, 1234);
	assert_int_equal(start, 5678000000ull);
	assert_int_equal(pr_parse_process_id("4294967295:18446744073709551615", &pid, &start), 0);
	assert_int_equal(pid, UINT32_MAX);
	assert_int_equal(start, UINT64_MAX);
	assert_string_equal(pr_fmt_process_id(UINT32_MAX, UINT64_MAX, buf),
			    "4294967295:18446744073709551615");

	static const char *const bad[] = {
		"", "0", "0:5", "abc", "12:", ":5", "12:3x", "-1", "+1", " 1", "4294967296",
		"1:18446744073709551616", "1:2:3",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pr_parse_process_id(bad[i], &pid, &start) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
}

/* ---- incident renderers on hand-made records ---- */

static const char init_argv[] = "/sbin/init\0splash";
static const char sshd_argv[] = "sshd:\0root@pts/0";
static const char sh_argv[] = "sh\0-c\0echo pwned > /etc/x\n";

#define PROC(pid_, ppid_, pstart_, start_, exe_, argv_, uid_, user_)                      \
	{ .pid = (pid_), .ppid = (ppid_), .pstart_boot = (pstart_), .start_boot = (start_),      \
	  .start_time = 1795600000ull * NS,                                                    \
	  .uid = (uid_), .gid = (uid_), .loginuid = 1000, .sessionid = 3, .user = (user_),  \
	  .exe = (exe_), .argv = (argv_), .argv_len = sizeof(argv_), .cwd = "/",            \
	  .cgroup = "/user.slice", .container_id = "", .sha256 = "" }

static struct pr_proc_rec lineage_fixture[] = {
	PROC(4242, 900, 2000, 3000, "/bin/da\xff" "sh", sh_argv, 0, "root"),
	PROC(900, 1, 1000, 2000, "/usr/sbin/sshd", sshd_argv, 0, "root"),
	PROC(1, 0, 0, 1000, "/sbin/init", init_argv, 0, "root"),
};

static struct pr_event_rec events_fixture[] = {
	{ .time = 1795686086ull * NS, .kind = "exec", .pid = 4242, .start_boot = 3000,
	  .path = "/bin/da\xff" "sh", .path2 = "", .detail = "" },
	{ .time = 1795686086ull * NS + 123456789, .kind = "rename", .pid = 4242,
	  .start_boot = 3000, .path = "/etc/x\nforged", .path2 = "/tmp/y", .detail = "" },
	{ .time = 1795686087ull * NS, .kind = "write", .pid = 4242, .start_boot = 3000,
	  .path = "/etc/shadow", .path2 = "", .detail = "flags=O_WRONLY|O_TRUNC" },
};

static void fixture_incident(struct pr_incident_rec *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->id = 42;
	inc->time = 1795686086ull * NS + 123456789;
	inc->policy = "web-tier";
	inc->rule = "files.protect";
	inc->severity = "high";
	inc->kind = "file";
	inc->action = "rename";
	inc->path = "/etc/x\nforged";
	inc->expected = "no writes under /etc/**";
	inc->actual = "/bin/da\xff" "sh renamed /tmp/y to /etc/x\nforged";
	inc->proc = lineage_fixture[0];
	inc->lost_events = 3;
}

static void fixture_full(struct pr_incident_full *f)
{
	memset(f, 0, sizeof(*f));
	fixture_incident(&f->inc);
	f->lineage = lineage_fixture;
	f->nlineage = 3;
	f->events = events_fixture;
	f->nevents = 3;
}

static void check_incident_json(struct json_object *o)
{
	struct json_object *p, *argv;

	assert_int_equal(get_int(o, "id"), 42);
	assert_string_equal(get_str(o, "time"), "2026-11-26T09:41:26.123456789Z");
	assert_int_equal(get_u64(o, "time_ns"), 1795686086ull * NS + 123456789);
	assert_string_equal(get_str(o, "policy"), "web-tier");
	assert_string_equal(get_str(o, "rule"), "files.protect");
	assert_string_equal(get_str(o, "severity"), "high");
	assert_string_equal(get_str(o, "kind"), "file");
	assert_string_equal(get_str(o, "action"), "rename");
	assert_string_equal(get_str(o, "path"), "/etc/x\nforged");
	assert_absent(o, "path_b64");
	assert_string_equal(get_str(o, "expected"), "no writes under /etc/**");
	assert_string_equal(get_str(o, "actual"),
			    "/bin/da\xef\xbf\xbdsh renamed /tmp/y to /etc/x\nforged");
	get(o, "actual_b64", json_type_string);

	p = get(o, "process", json_type_object);
	assert_int_equal(get_int(p, "pid"), 4242);
	assert_string_equal(get_str(p, "exe"), "/bin/da\xef\xbf\xbdsh");
	assert_string_equal(get_str(p, "exe_b64"), "L2Jpbi9kYf9zaA==");
	argv = get(p, "argv", json_type_array);
	assert_int_equal(json_object_array_length(argv), 3);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(argv, 2)),
			    "echo pwned > /etc/x\n");
	assert_absent(p, "argv_b64");
	assert_int_equal(get_int(p, "uid"), 0);
	assert_string_equal(get_str(p, "user"), "root");
	assert_int_equal(get_u64(p, "start_time"), 3000);
	assert_string_equal(get_str(p, "process_id"), "4242:3000");
	assert_absent(p, "argv_truncated");
	assert_absent(p, "user_b64");
}

static void test_incident_json(void **state)
{
	struct pr_incident_rec inc;
	struct json_object *o;

	fixture_incident(&inc);
	o = roundtrip(pr_json_incident(&inc));
	check_incident_json(o);
	assert_absent(o, "who");
	assert_absent(o, "lineage");
	json_object_put(o);

	/* Truncation flags appear only when set. */
	inc.proc.flags = PR_F_ARGV_TRUNC;
	o = roundtrip(pr_json_incident(&inc));
	assert_true(json_object_get_boolean(
		get(get(o, "process", json_type_object), "argv_truncated", json_type_boolean)));
	assert_absent(get(o, "process", json_type_object), "exe_truncated");
	json_object_put(o);
}

/* A NetworkPolicy incident: network.networkPolicies lists what the
 * stored name "NetworkPolicy/NS/A[,NS/B]" holds; other names get none, nor
 * does a name with bytes polrecd never writes there. */
static void test_incident_netpol_json(void **state)
{
	struct pr_net_rec net = { "egress", "tcp", "127.0.0.1", 40000, "127.0.0.66", 1500,
				  "ECONNREFUSED", 0 };
	struct pr_incident_rec inc;
	struct json_object *o, *n, *a;

	fixture_incident(&inc);
	inc.kind = "network";
	inc.net = &net;
	inc.policy = "NetworkPolicy/shop/a,shop/b";
	o = roundtrip(pr_json_incident(&inc));
	n = get(o, "network", json_type_object);
	assert_string_equal(get_str(n, "dst"), "127.0.0.66");
	a = get(n, "networkPolicies", json_type_array);
	assert_int_equal(json_object_array_length(a), 2);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 0)), "shop/a");
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 1)), "shop/b");
	json_object_put(o);

	inc.policy = "NetworkPolicy/default/web";
	o = roundtrip(pr_json_incident(&inc));
	a = get(get(o, "network", json_type_object), "networkPolicies", json_type_array);
	assert_int_equal(json_object_array_length(a), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 0)), "default/web");
	json_object_put(o);

	inc.policy = "client-egress";
	o = roundtrip(pr_json_incident(&inc));
	assert_absent(get(o, "network", json_type_object), "networkPolicies");
	json_object_put(o);

	inc.policy = "NetworkPolicy/x/\"],\n";
	o = roundtrip(pr_json_incident(&inc));
	assert_absent(get(o, "network", json_type_object), "networkPolicies");
	json_object_put(o);
}

static void test_incident_full_json(void **state)
{
	struct json_object *o, *who, *lin, *ev, *e;
	struct pr_incident_full full;

	fixture_full(&full);
	o = roundtrip(pr_json_incident_full(&full));
	check_incident_json(o);

	who = get(o, "who", json_type_object);
	assert_int_equal(get_int(who, "uid"), 0);
	assert_string_equal(get_str(who, "user"), "root");
	assert_int_equal(get_int(who, "loginuid"), 1000);
	assert_int_equal(get_int(who, "sessionid"), 3);
	assert_string_equal(get_str(who, "cgroup"), "/user.slice");
	assert_string_equal(get_str(who, "container_id"), "");
	assert_string_equal(get_str(who, "sha256"), "");
	assert_string_equal(get_str(who, "cwd"), "/");

	lin = get(o, "lineage", json_type_array);
	assert_int_equal(json_object_array_length(lin), 3);
	e = json_object_array_get_idx(lin, 0);
	assert_int_equal(get_int(e, "pid"), 4242);
	assert_int_equal(get_int(e, "ppid"), 900);
	assert_string_equal(get_str(e, "process_id"), "4242:3000");
	assert_int_equal(get_u64(e, "start_time"), 3000);
	assert_string_equal(get_str(e, "started"), "2026-11-25T09:46:40.000000000Z");
	get(e, "exe_b64", json_type_string);
	get(e, "argv", json_type_array);
	get(e, "uid", json_type_int);
	get(e, "user", json_type_string);
	assert_absent(e, "exited");
	e = json_object_array_get_idx(lin, 2);
	assert_int_equal(get_int(e, "pid"), 1);
	assert_absent(e, "exe_b64");

	ev = get(o, "events", json_type_array);
	assert_int_equal(json_object_array_length(ev), 3);
	e = json_object_array_get_idx(ev, 0);
	assert_string_equal(get_str(e, "kind"), "exec");
	assert_string_equal(get_str(e, "time"), "2026-11-26T09:41:26.000000000Z");
	assert_int_equal(get_int(e, "pid"), 4242);
	assert_string_equal(get_str(e, "path"), "/bin/da\xef\xbf\xbdsh");
	get(e, "path_b64", json_type_string);
	assert_absent(e, "path2");
	e = json_object_array_get_idx(ev, 1);
	assert_string_equal(get_str(e, "path"), "/etc/x\nforged");
	assert_string_equal(get_str(e, "path2"), "/tmp/y");
	assert_absent(e, "path_b64");
	e = json_object_array_get_idx(ev, 2);
	assert_string_equal(get_str(e, "detail"), "flags=O_WRONLY|O_TRUNC");
	assert_int_equal(get_u64(o, "lost_events"), 3);
	json_object_put(o);
}

static void test_incident_line_text(void **state)
{
	struct pr_incident_rec inc;
	char *out = NULL;

	fixture_incident(&inc);
	TEXT(pr_text_incident_line(f, &inc), out);
	assert_string_equal(out, "42  2026-11-26T09:41:26.123456789Z  high  web-tier  "
				 "files.protect  file  4242  /bin/da\\xffsh  /etc/x\\nforged\n");
	free(out);

	inc.path = "/srv/my file";
	TEXT(pr_text_incident_line(f, &inc), out);
	assert_non_null(strstr(out, "  \"/srv/my file\"\n"));
	free(out);
}

static void test_incident_full_text(void **state)
{
	struct pr_incident_full full;
	const char *init, *sshd, *sh;
	char *out = NULL;

	fixture_full(&full);
	TEXT(pr_text_incident_full(f, &full), out);
	/* The sections, in order. */
	assert_true(strstr(out, "WHAT\n") < strstr(out, "WHO\n"));
	assert_true(strstr(out, "WHO\n") < strstr(out, "WHEN\n"));
	assert_true(strstr(out, "WHEN\n") < strstr(out, "HOW\n"));
	assert_non_null(strstr(out, "2026-11-26T09:41:26.123456789Z"));
	assert_non_null(strstr(out, "web-tier"));
	assert_non_null(strstr(out, "files.protect"));
	assert_non_null(strstr(out, "rename /etc/x\\nforged\n"));
	assert_non_null(strstr(out, "root (uid 0, gid 0)"));
	assert_non_null(strstr(out, "lost events: 3"));
	/* Lineage from pid 1 down, the violator marked, argv quoted. */
	init = strstr(out, "   1:1000 ");
	sshd = strstr(out, "     `- 900:2000 ");
	sh = strstr(out, "=>     `- 4242:3000 ");
	assert_non_null(init);
	assert_non_null(sshd);
	assert_non_null(sh);
	assert_true(init < sshd && sshd < sh);
	assert_non_null(strstr(out, "argv=sh -c \"echo pwned > /etc/x\\n\"\n"));
	/* The violating event is marked (found by time and process: no event
	 * carries a mark), offsets from it; the forged newline is escaped. */
	assert_non_null(strstr(out, "\n   -0.123s  2026-11-26T09:41:26.000000000Z  exec  4242  "));
	assert_non_null(strstr(out, "\n=> +0.000s  2026-11-26T09:41:26.123456789Z  rename  4242  "
				    "/etc/x\\nforged  from=/tmp/y\n"));
	assert_non_null(strstr(out, "\n   +0.876s  2026-11-26T09:41:27.000000000Z  write  4242  "));
	assert_null(strstr(out, "gaps:"));
	assert_null(strstr(out, "follow window:"));
	/* No byte of the record adds a line: count them. */
	assert_int_equal(count_lines(out), 1 + 7 + 9 + 2 + 1 + 1 + 3 + 1 + 3 + 1);
	free(out);
}

/* ---- the flight recorder: offsets, marks, gaps, timeline ---- */

static void assert_offset(int64_t ns, const char *want)
{
	char buf[PR_OFFSET_LEN];

	assert_string_equal(pr_fmt_offset(ns, buf), want);
}

static void test_fmt_offset(void **state)
{
	const int64_t ms = 1000000, sec = 1000 * ms;

	assert_offset(0, "+0.000s");
	assert_offset(1, "+0.000s");
	assert_offset(-1, "-0.000s");          /* before stays before */
	assert_offset(800 * ms, "+0.800s");
	assert_offset(-12 * sec - 300 * ms, "-12.300s");
	assert_offset(-12 * sec - 300 * ms - 999999, "-12.300s"); /* truncated */
	assert_offset(59 * sec + 999 * ms + 999999, "+59.999s");
	assert_offset(60 * sec, "+1m00.000s");
	assert_offset(-62 * sec - 300 * ms, "-1m02.300s");
	assert_offset(3599 * sec + 5 * ms, "+59m59.005s");
	assert_offset(3600 * sec, "+1h00m00.000s");
	assert_offset(-(2 * 3600 + 3 * 60 + 4) * sec - 500 * ms, "-2h03m04.500s");
	assert_offset(100LL * 3600 * sec, "+100h00m00.000s");
	assert_offset(INT64_MAX, "+2562047h47m16.854s");
	assert_offset(INT64_MIN, "-2562047h47m16.854s");

	assert_true(pr_time_offset(10, 4) == 6);
	assert_true(pr_time_offset(4, 10) == -6);
	assert_true(pr_time_offset(UINT64_MAX, 0) == INT64_MAX);
	assert_true(pr_time_offset(0, UINT64_MAX) == INT64_MIN);
	assert_true(pr_time_offset(0, (uint64_t)INT64_MAX + 1) == INT64_MIN);
	assert_true(pr_time_offset(0, INT64_MAX) == -INT64_MAX);
}

#define T0 (1795686086ull * NS)

static struct pr_event_rec family_events[] = {
	{ .time = T0 - 62 * NS - 300000000, .kind = "exec", .pid = 900, .start_boot = 2000,
	  .path = "/usr/sbin/sshd", .path2 = "", .detail = "" },
	{ .time = T0 - 12 * NS - 300000000, .kind = "exec", .pid = 4242, .start_boot = 3000,
	  .path = "/bin/sh", .path2 = "", .detail = "" },
	{ .time = T0, .kind = "write", .pid = 4242, .start_boot = 3000, .path = "/etc/shadow",
	  .path2 = "", .detail = "flags=O_WRONLY", .mark = PR_MARK_VIOLATION },
	{ .time = T0 + 800000000, .kind = "exec", .pid = 4243, .start_boot = 3100,
	  .path = "/usr/bin/curl", .path2 = "", .detail = "" },
	{ .time = T0 + 3 * NS + 100000000, .kind = "write", .pid = 4242, .start_boot = 3000,
	  .path = "/etc/passwd", .path2 = "", .detail = "(joined)", .mark = PR_MARK_JOINED },
};

static struct pr_loss_rec family_gaps[] = {
	{ .from = T0 - 6 * NS, .to = T0 - 5 * NS, .stage = "kernel-ringbuf", .kind = "file",
	  .count = 312 },
	{ .from = T0 + NS, .to = T0 + NS, .stage = "recorder", .kind = "exec", .count = 1 },
};

static void fixture_family(struct pr_incident_full *f)
{
	fixture_full(f);
	f->inc.time = T0;
	f->inc.action = "write";
	f->inc.path = "/etc/shadow";
	f->inc.violations = 2;
	f->inc.follow_until = T0 + 30 * NS;
	f->events = family_events;
	f->nevents = 5;
	f->gaps = family_gaps;
	f->ngaps = 2;
}

static void test_family_text(void **state)
{
	struct pr_event_rec ev_copy[5];
	struct pr_incident_full full;
	const char *ev, *gaps, *l;
	char *out = NULL;

	fixture_family(&full);
	TEXT(pr_text_incident_full(f, &full), out);
	/* WHAT: how many violations, how long it was followed */
	assert_non_null(strstr(out, "\n  violations:  2 (later ones joined this incident)\n"));
	assert_non_null(strstr(out, "\n  follow window: until 2026-11-26T09:41:56.000000000Z\n"));
	assert_true(strstr(out, "follow window:") < strstr(out, "WHO\n"));
	/* the timeline: offsets right-aligned, the family's processes, marks */
	ev = strstr(out, "  events (5, offsets from the violation, violations marked =>):\n");
	assert_non_null(ev);
	l = strstr(ev, "\n   -1m02.300s  2026-11-26T09:40:23.700000000Z  exec  900  /usr/sbin/sshd\n");
	assert_non_null(l);
	l = strstr(l, "\n     -12.300s  2026-11-26T09:41:13.700000000Z  exec  4242  /bin/sh\n");
	assert_non_null(l);
	l = strstr(l, "\n=>    +0.000s  2026-11-26T09:41:26.000000000Z  write  4242  "
		   "/etc/shadow  flags=O_WRONLY\n");
	assert_non_null(l);
	l = strstr(l, "\n      +0.800s  2026-11-26T09:41:26.800000000Z  exec  4243  /usr/bin/curl\n");
	assert_non_null(l);
	/* joined: after the kind, where the detail cannot forge it */
	l = strstr(l, "\n=>    +3.100s  2026-11-26T09:41:29.100000000Z  write (joined)  4242  "
		   "/etc/passwd  (joined)\n");
	assert_non_null(l);
	/* gaps after the events, each loss on its line */
	gaps = strstr(out, "\ngaps:\n");
	assert_non_null(gaps);
	assert_true(gaps > l);
	assert_non_null(strstr(gaps, "\n  312 file events lost between 2026-11-26T09:41:20.000000000Z "
				     "and 2026-11-26T09:41:21.000000000Z (kernel-ringbuf)\n"));
	assert_non_null(strstr(gaps, "\n  1 exec event lost between 2026-11-26T09:41:27.000000000Z "
				     "and 2026-11-26T09:41:27.000000000Z (recorder)\n"));
	free(out);

	/* a stored mark wins over time and process: the context event at the
	 * incident's time is not the violation when another is marked */
	memcpy(ev_copy, family_events, sizeof(ev_copy));
	ev_copy[0].time = T0;
	ev_copy[0].pid = 4242;
	ev_copy[0].start_boot = 3000;
	full.events = ev_copy;
	TEXT(pr_text_incident_full(f, &full), out);
	assert_non_null(strstr(out, "\n    +0.000s  2026-11-26T09:41:26.000000000Z  exec  4242"));
	free(out);
}

static void test_family_json(void **state)
{
	static const char *const marks[] = { "context", "context", "violation", "context",
					     "joined" };
	static const int64_t offsets[] = { -62300000000, -12300000000, 0, 800000000, 3100000000 };
	struct json_object *o, *ev, *e, *gaps, *g;
	struct pr_incident_full full;

	fixture_family(&full);
	o = roundtrip(pr_json_incident_full(&full));
	assert_int_equal(get_u64(o, "violations"), 2);
	assert_string_equal(get_str(o, "follow_until"), "2026-11-26T09:41:56.000000000Z");
	assert_int_equal(get_u64(o, "follow_until_ns"), T0 + 30 * NS);
	ev = get(o, "events", json_type_array);
	assert_int_equal(json_object_array_length(ev), 5);
	for (size_t i = 0; i < 5; i++) {
		e = json_object_array_get_idx(ev, i);
		assert_string_equal(get_str(e, "mark"), marks[i]);
		assert_int_equal(get_int(e, "offset_ns"), offsets[i]);
	}
	assert_string_equal(get_str(json_object_array_get_idx(ev, 3), "process_id"), "4243:3100");
	gaps = get(o, "gaps", json_type_array);
	assert_int_equal(json_object_array_length(gaps), 2);
	g = json_object_array_get_idx(gaps, 0);
	assert_string_equal(get_str(g, "from"), "2026-11-26T09:41:20.000000000Z");
	assert_string_equal(get_str(g, "to"), "2026-11-26T09:41:21.000000000Z");
	assert_string_equal(get_str(g, "stage"), "kernel-ringbuf");
	assert_string_equal(get_str(g, "kind"), "file");
	assert_int_equal(get_u64(g, "count"), 312);
	json_object_put(o);

	/* the list form carries violations and the follow window too */
	o = roundtrip(pr_json_incident(&full.inc));
	assert_int_equal(get_u64(o, "violations"), 2);
	get(o, "follow_until", json_type_string);
	assert_absent(o, "gaps");
	json_object_put(o);

	/* an old record: no marks stored, no follow window, no gaps */
	fixture_full(&full);
	full.inc.violations = 1;
	o = roundtrip(pr_json_incident_full(&full));
	assert_absent(o, "follow_until");
	assert_absent(o, "follow_until_ns");
	assert_int_equal(json_object_array_length(get(o, "gaps", json_type_array)), 0);
	ev = get(o, "events", json_type_array);
	assert_string_equal(get_str(json_object_array_get_idx(ev, 0), "mark"), "context");
	assert_int_equal(get_int(json_object_array_get_idx(ev, 0), "offset_ns"), -123456789);
	assert_string_equal(get_str(json_object_array_get_idx(ev, 1), "mark"), "violation");
	assert_int_equal(get_int(json_object_array_get_idx(ev, 1), "offset_ns"), 0);
	assert_string_equal(get_str(json_object_array_get_idx(ev, 2), "mark"), "context");
	json_object_put(o);
	assert_int_equal(pr_event_mark_of(&full, 1), PR_MARK_VIOLATION);
	assert_int_equal(pr_event_mark_of(&full, 0), PR_MARK_CONTEXT);
	assert_string_equal(pr_mark_name(PR_MARK_JOINED), "joined");
	assert_string_equal(pr_mark_name(42), "context");
}

static void test_timeline_event_output(void **state)
{
	struct pr_event_rec e = family_events[4];
	struct json_object *o;
	char *out = NULL;

	TEXT(pr_text_timeline_event(f, &e, 7), out);
	assert_string_equal(out, "=> 2026-11-26T09:41:29.100000000Z  write (joined)  4242:3000  "
				 "/etc/passwd  (joined)  incident 7\n");
	free(out);
	e = family_events[3];
	TEXT(pr_text_timeline_event(f, &e, 8), out);
	assert_string_equal(out, "   2026-11-26T09:41:26.800000000Z  exec  4243:3100  "
				 "/usr/bin/curl  incident 8\n");
	free(out);
	/* hostile bytes stay on one line */
	e = events_fixture[1];
	TEXT(pr_text_timeline_event(f, &e, 9), out);
	assert_string_equal(out, "   2026-11-26T09:41:26.123456789Z  rename  4242:3000  "
				 "/etc/x\\nforged  from=/tmp/y  incident 9\n");
	free(out);

	o = roundtrip(pr_json_timeline_event(&family_events[2], 7));
	assert_int_equal(get_int(o, "incident"), 7);
	assert_string_equal(get_str(o, "mark"), "violation");
	assert_string_equal(get_str(o, "time"), "2026-11-26T09:41:26.000000000Z");
	assert_int_equal(get_u64(o, "time_ns"), T0);
	assert_string_equal(get_str(o, "kind"), "write");
	assert_int_equal(get_int(o, "pid"), 4242);
	assert_string_equal(get_str(o, "process_id"), "4242:3000");
	assert_string_equal(get_str(o, "path"), "/etc/shadow");
	assert_string_equal(get_str(o, "detail"), "flags=O_WRONLY");
	assert_absent(o, "path2");
	assert_absent(o, "offset_ns");
	json_object_put(o);
	o = roundtrip(pr_json_timeline_event(&events_fixture[0], 1));
	assert_string_equal(get_str(o, "mark"), "context");
	get(o, "path_b64", json_type_string);
	json_object_put(o);
}

static void test_tree_text_and_json(void **state)
{
	struct pr_proc_rec kids[] = {
		PROC(4300, 4242, 3000, 4000, "/usr/bin/cat", init_argv, 0, ""),
	};
	struct pr_proc_list lineage = { .v = lineage_fixture, .n = 3 };
	struct pr_proc_list children = { .v = kids, .n = 1 };
	struct pr_proc_list none = { 0 };
	struct json_object *o, *e;
	char *out = NULL;

	kids[0].exit_time = 1795686090ull * NS;
	TEXT(pr_text_tree(f, &lineage_fixture[0], &lineage, &children), out);
	assert_non_null(strstr(out, "process 4242:3000\n"));
	assert_non_null(strstr(out, "=>     `- 4242:3000 "));
	assert_non_null(strstr(out, "         `- 4300:4000 uid=0() started="));
	assert_non_null(strstr(out, "exited=2026-11-26T09:41:30.000000000Z code=0"));
	assert_int_equal(count_lines(out), 5);
	free(out);

	TEXT(pr_text_tree(f, &lineage_fixture[2], &none, &none), out);
	assert_non_null(strstr(out, "=> 1:1000 "));
	assert_non_null(strstr(out, "(no recorded children)"));
	free(out);

	o = roundtrip(pr_json_tree(&lineage_fixture[0], &lineage, &children));
	assert_string_equal(get_str(get(o, "process", json_type_object), "process_id"),
			    "4242:3000");
	assert_int_equal(json_object_array_length(get(o, "lineage", json_type_array)), 3);
	e = json_object_array_get_idx(get(o, "children", json_type_array), 0);
	assert_string_equal(get_str(e, "exited"), "2026-11-26T09:41:30.000000000Z");
	assert_int_equal(get_int(e, "exit_code"), 0);
	json_object_put(o);
}

static void test_stats(void **state)
{
	struct pr_loss_rec losses[] = {
		{ .from = 0, .to = NS, .stage = "kernel-ringbuf", .kind = "file", .count = 5 },
		{ .from = NS, .to = 2 * NS, .stage = "recorder", .kind = "exec", .count = 2 },
	};
	struct pr_stats st = { .incidents = 4, .processes = 10, .events = 99,
			       .losses = losses, .nlosses = 2 };
	struct json_object *o;
	char *out = NULL;

	o = roundtrip(pr_json_stats(&st));
	assert_int_equal(get_u64(o, "incidents"), 4);
	assert_int_equal(get_u64(o, "lost_events"), 7);
	assert_int_equal(get_u64(o, "packets"), 0);
	assert_int_equal(get_u64(o, "flows"), 0);
	assert_int_equal(get_u64(o, "pcap_bytes"), 0);
	assert_int_equal(json_object_array_length(get(o, "losses", json_type_array)), 2);
	assert_string_equal(get_str(json_object_array_get_idx(get(o, "losses", json_type_array), 0),
				    "stage"), "kernel-ringbuf");
	json_object_put(o);

	TEXT(pr_text_stats(f, &st), out);
	assert_non_null(strstr(out, "lost events: 7\n"));
	assert_non_null(strstr(out, "flows:       0\npackets:     0\npcap:        0 segments, 0 bytes\n"));
	assert_non_null(strstr(out, "recorder  exec  2\n"));
	free(out);
}


/* ---- network incidents ---- */

static const uint8_t http_head[] = "GET /secret HTTP/1.1\r\nHost: x\r\n\x00\xff";

static void fixture_network(struct pr_incident_full *f, struct pr_net_rec *net,
			    struct pr_flow_rec *flows)
{
	fixture_full(f);
	f->inc.kind = "network";
	f->inc.rule = "network.egress";
	f->inc.action = "connect";
	f->inc.path = "10.0.0.2:80";
	*net = (struct pr_net_rec){
		.direction = "egress", .protocol = "tcp", .src = "127.0.0.1", .sport = 40000,
		.dst = "10.0.0.2", .dport = 80, .result = "ECONNREFUSED", .flow_id = 42,
	};
	f->inc.net = net;
	flows[0] = (struct pr_flow_rec){
		.flow_id = 42, .incident_id = 42, .time = 1795686086ull * NS, .role = "violation",
		.protocol = "tcp", .local = "127.0.0.1", .lport = 40000, .remote = "10.0.0.2",
		.rport = 80, .pid = 4242, .start_boot = 3000, .exe = "/usr/bin/cu\xffrl",
		.packets = 5, .bytes = 612, .head = http_head, .head_len = sizeof(http_head) - 1,
	};
	flows[1] = (struct pr_flow_rec){
		.flow_id = 43, .incident_id = 42, .time = 1795686087ull * NS, .role = "follow",
		.protocol = "udp", .local = "::1", .lport = 5353, .remote = "fd00::2\n", .rport = 53,
		.pid = 4242, .start_boot = 3000, .exe = "/usr/bin/curl", .packets = 1, .bytes = 60,
		.head = (const uint8_t *)"", .head_len = 0,
	};
	f->flows = flows;
	f->nflows = 2;
}

static void test_network_json(void **state)
{
	struct json_object *o, *n, *arr, *fl;
	struct pr_incident_full full;
	struct pr_flow_rec flows[2];
	struct pr_net_rec net;

	fixture_network(&full, &net, flows);
	o = roundtrip(pr_json_incident(&full.inc));
	n = get(o, "network", json_type_object);
	assert_int_equal(json_object_object_length(n), 7);
	assert_string_equal(get_str(n, "direction"), "egress");
	assert_string_equal(get_str(n, "protocol"), "tcp");
	assert_string_equal(get_str(n, "src"), "127.0.0.1");
	assert_int_equal(get_int(n, "sport"), 40000);
	assert_string_equal(get_str(n, "dst"), "10.0.0.2");
	assert_int_equal(get_int(n, "dport"), 80);
	assert_string_equal(get_str(n, "result"), "ECONNREFUSED");
	assert_absent(o, "flows");
	json_object_put(o);

	o = roundtrip(pr_json_incident_full(&full));
	get(o, "network", json_type_object);
	arr = get(o, "flows", json_type_array);
	assert_int_equal(json_object_array_length(arr), 2);
	fl = json_object_array_get_idx(arr, 0);
	assert_int_equal(get_u64(fl, "flow_id"), 42);
	assert_string_equal(get_str(fl, "role"), "violation");
	assert_string_equal(get_str(fl, "protocol"), "tcp");
	assert_string_equal(get_str(fl, "local"), "127.0.0.1");
	assert_int_equal(get_int(fl, "lport"), 40000);
	assert_string_equal(get_str(fl, "remote"), "10.0.0.2");
	assert_int_equal(get_int(fl, "rport"), 80);
	assert_int_equal(get_int(fl, "pid"), 4242);
	assert_int_equal(get_u64(fl, "packets"), 5);
	assert_int_equal(get_u64(fl, "bytes"), 612);
	assert_string_equal(get_str(fl, "payload"), "GET /secret HTTP/1.1..Host: x....");
	assert_string_equal(get_str(fl, "payload_b64"),
			    "R0VUIC9zZWNyZXQgSFRUUC8xLjENCkhvc3Q6IHgNCgD/");
	assert_string_equal(get_str(fl, "exe_b64"), "L3Vzci9iaW4vY3X/cmw=");
	fl = json_object_array_get_idx(arr, 1);
	assert_string_equal(get_str(fl, "remote"), "fd00::2\n");
	assert_string_equal(get_str(fl, "payload"), "");
	assert_string_equal(get_str(fl, "payload_b64"), "");
	json_object_put(o);

	/* a network incident without captured flows still has the array */
	full.nflows = 0;
	o = roundtrip(pr_json_incident_full(&full));
	assert_int_equal(json_object_array_length(get(o, "flows", json_type_array)), 0);
	json_object_put(o);
}

static void test_network_text(void **state)
{
	struct pr_incident_full full;
	struct pr_flow_rec flows[2];
	struct pr_net_rec net;
	char *out = NULL;

	fixture_network(&full, &net, flows);
	TEXT(pr_text_incident_full(f, &full), out);
	assert_non_null(strstr(out, "  network:     egress tcp 127.0.0.1:40000 -> 10.0.0.2:80  "
				    "ECONNREFUSED\n"));
	assert_true(strstr(out, "network:") < strstr(out, "WHO\n"));
	assert_true(strstr(out, "HOW\n") < strstr(out, "flows:\n"));
	assert_non_null(strstr(out, "flows:\n  tcp 127.0.0.1:40000 -> 10.0.0.2:80  violation  "
				    "5 packets 612 bytes  GET /secret HTTP/1.1..Host: x....\n"));
	/* IPv6 in brackets; a hostile address cannot add a line */
	assert_non_null(strstr(out, "  udp [::1]:5353 -> [fd00::2\\n]:53  follow  1 packet 60 bytes\n"));
	assert_int_equal(count_lines(out), 1 + 8 + 9 + 2 + 1 + 1 + 3 + 1 + 3 + 1 + 3);
	free(out);

	full.nflows = 0;
	TEXT(pr_text_incident_full(f, &full), out);
	assert_non_null(strstr(out, "flows: none captured\n"));
	free(out);

	/* other kinds: unchanged, no network line, no flows section */
	fixture_full(&full);
	TEXT(pr_text_incident_full(f, &full), out);
	assert_null(strstr(out, "network:"));
	assert_null(strstr(out, "flows"));
	free(out);
}

static void test_payload_text(void **state)
{
	char *t = pr_payload_text((const uint8_t *)"a\tb\x7f\x80 ~", 7);

	assert_string_equal(t, "a.b.. ~");
	free(t);
	t = pr_payload_text(NULL, 0);
	assert_string_equal(t, "");
	free(t);
}

/* ---- end to end through a real store ---- */

struct e2e {
	char dir[64];
	struct pr_store *s;
};

static void rm_store(const char *dir)
{
	char path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		assert_int_equal(unlink(path), 0);
	}
	closedir(dp);
	assert_int_equal(rmdir(dir), 0);
}

static int e2e_setup(void **state)
{
	struct e2e *t = calloc(1, sizeof(*t));
	struct pr_incident_full full;
	struct pr_store *w;
	char err[256];

	if (!t)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/test_render.XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	/* A fresh subdirectory: WRITE mode creates it 0700. */
	strcat(t->dir, "/s");
	if (pr_store_open(&w, t->dir, PR_STORE_WRITE, err, sizeof(err))) {
		fprintf(stderr, "open write: %s\n", err);
		return -1;
	}
	fixture_full(&full);
	if (pr_store_begin(w) ||
	    pr_store_add_incident(w, &full.inc, full.lineage, full.nlineage, full.events,
				  full.nevents) < 0 ||
	    pr_store_add_loss(w, NS, 2 * NS, "kernel-ringbuf", "file", 3) ||
	    pr_store_commit(w)) {
		fprintf(stderr, "write: %s\n", pr_store_errmsg(w));
		pr_store_close(w);
		return -1;
	}
	pr_store_close(w);
	if (pr_store_open(&t->s, t->dir, PR_STORE_READ, err, sizeof(err))) {
		fprintf(stderr, "open read: %s\n", err);
		return -1;
	}
	*state = t;
	return 0;
}

static int e2e_teardown(void **state)
{
	struct e2e *t = *state;
	char *slash;

	pr_store_close(t->s);
	rm_store(t->dir);
	slash = strrchr(t->dir, '/');
	*slash = '\0';
	assert_int_equal(rmdir(t->dir), 0);
	free(t);
	return 0;
}

struct collect {
	struct json_object *arr;
	char *text;
	size_t len;
	FILE *f;
};

static int collect_cb(const struct pr_incident_rec *inc, void *arg)
{
	struct collect *c = arg;

	assert_int_equal(json_object_array_add(c->arr, roundtrip(pr_json_incident(inc))), 0);
	assert_int_equal(pr_text_incident_line(c->f, inc), 0);
	return 0;
}

static void test_e2e_incidents(void **state)
{
	struct e2e *t = *state;
	struct collect c = { .arr = json_object_new_array() };
	struct pr_query q = { .severity = "high" };
	struct json_object *o;

	c.f = open_memstream(&c.text, &c.len);
	assert_non_null(c.f);
	assert_int_equal(pr_store_list_incidents(t->s, &q, collect_cb, &c), 1);
	assert_int_equal(fclose(c.f), 0);
	assert_int_equal(json_object_array_length(c.arr), 1);
	o = json_object_array_get_idx(c.arr, 0);
	assert_true(get_int(o, "id") > 0);
	/* Same fields as the hand-made record, except the id the store chose. */
	json_object_object_add(o, "id", json_object_new_int64(42));
	check_incident_json(o);
	assert_int_equal(count_lines(c.text), 1);
	assert_non_null(strstr(c.text, "  4242  /bin/da\\xffsh  /etc/x\\nforged\n"));
	json_object_put(c.arr);
	free(c.text);

	q.severity = "low";
	assert_int_equal(pr_store_list_incidents(t->s, &q, NULL, NULL), 0);
}

static int first_id_cb(const struct pr_incident_rec *inc, void *arg)
{
	*(int64_t *)arg = inc->id;
	return 1;
}

static void test_e2e_show(void **state)
{
	struct e2e *t = *state;
	struct pr_incident_full *full = NULL;
	struct json_object *o, *lin, *ev;
	int64_t id = 0;
	char *out = NULL;

	assert_int_equal(pr_store_list_incidents(t->s, NULL, first_id_cb, &id), 1);
	assert_int_equal(pr_store_get_incident(t->s, id, &full), 0);
	assert_non_null(full);
	assert_int_equal(full->inc.id, id);
	assert_int_equal(pr_store_get_incident(t->s, id + 1000, &(struct pr_incident_full *){ 0 }), 1);

	o = roundtrip(pr_json_incident_full(full));
	lin = get(o, "lineage", json_type_array);
	assert_int_equal(json_object_array_length(lin), 3);
	assert_int_equal(get_int(json_object_array_get_idx(lin, 0), "pid"), 4242);
	assert_int_equal(get_int(json_object_array_get_idx(lin, 2), "pid"), 1);
	ev = get(o, "events", json_type_array);
	assert_int_equal(json_object_array_length(ev), 3);
	assert_string_equal(get_str(json_object_array_get_idx(ev, 1), "path2"), "/tmp/y");
	assert_string_equal(get_str(json_object_array_get_idx(ev, 0), "path_b64"),
			    "L2Jpbi9kYf9zaA==");
	assert_int_equal(get_u64(o, "lost_events"), 3);
	/* schema 3 fields: one violation, found by time and process */
	assert_int_equal(get_u64(o, "violations"), 1);
	assert_absent(o, "follow_until");
	assert_int_equal(json_object_array_length(get(o, "gaps", json_type_array)), 0);
	assert_string_equal(get_str(json_object_array_get_idx(ev, 1), "mark"), "violation");
	assert_int_equal(get_int(json_object_array_get_idx(ev, 2), "offset_ns"), 876543211);
	json_object_put(o);

	TEXT(pr_text_incident_full(f, full), out);
	assert_non_null(strstr(out, "\n  violations:  1\n"));
	assert_non_null(strstr(out, "\n=> +0.000s  2026-11-26T09:41:26.123456789Z  rename  4242  "));
	assert_non_null(strstr(out, "=>     `- 4242:3000 "));
	assert_non_null(strstr(out, "from=/tmp/y"));
	free(out);
	pr_incident_full_free(full);
}

static void test_e2e_tree(void **state)
{
	struct pr_proc_list found = { 0 }, lineage = { 0 }, children = { 0 };
	struct e2e *t = *state;
	struct json_object *o;
	char *out = NULL;

	assert_int_equal(pr_store_find_processes(t->s, 900, 0, &found), 0);
	assert_int_equal(found.n, 1);
	assert_int_equal(pr_store_process_lineage(t->s, 900, 2000, &lineage), 0);
	assert_int_equal(pr_store_process_children(t->s, 900, 2000, &children), 0);
	assert_int_equal(lineage.n, 2);
	assert_int_equal(children.n, 1);

	TEXT(pr_text_tree(f, &found.v[0], &lineage, &children), out);
	assert_non_null(strstr(out, "   1:1000 "));
	assert_non_null(strstr(out, "=>   `- 900:2000 "));
	assert_non_null(strstr(out, "       `- 4242:3000 "));
	free(out);

	o = roundtrip(pr_json_tree(&found.v[0], &lineage, &children));
	assert_string_equal(get_str(json_object_array_get_idx(get(o, "children", json_type_array), 0),
				    "process_id"), "4242:3000");
	json_object_put(o);
	pr_proc_list_free(&children);
	pr_proc_list_free(&lineage);
	pr_proc_list_free(&found);

	assert_int_equal(pr_store_find_processes(t->s, 31337, 0, &found), 0);
	assert_int_equal(found.n, 0);
	pr_proc_list_free(&found);
}

static int e2e_timeline_cb(const struct pr_event_rec *e, int64_t iid, void *arg)
{
	struct collect *c = arg;

	assert_int_equal(json_object_array_add(c->arr, roundtrip(pr_json_timeline_event(e, iid))),
			 0);
	assert_int_equal(pr_text_timeline_event(c->f, e, iid), 0);
	return 0;
}

static void test_e2e_timeline(void **state)
{
	struct e2e *t = *state;
	struct collect c = { .arr = json_object_new_array() };
	int64_t id = 0;
	struct json_object *o;
	char line[256];

	assert_int_equal(pr_store_list_incidents(t->s, NULL, first_id_cb, &id), 1);
	c.f = open_memstream(&c.text, &c.len);
	assert_non_null(c.f);
	assert_int_equal(pr_store_timeline(t->s, 1795686086ull * NS + 1, 0, 4242, 3000,
					   e2e_timeline_cb, &c), 2);
	assert_int_equal(fclose(c.f), 0);
	assert_int_equal(count_lines(c.text), 2);
	snprintf(line, sizeof(line), "   2026-11-26T09:41:26.123456789Z  rename  4242:3000  "
		 "/etc/x\\nforged  from=/tmp/y  incident %" PRId64 "\n", id);
	assert_int_equal(strncmp(c.text, line, strlen(line)), 0);
	o = json_object_array_get_idx(c.arr, 1);
	assert_int_equal(get_int(o, "incident"), id);
	assert_string_equal(get_str(o, "kind"), "write");
	assert_string_equal(get_str(o, "mark"), "context"); /* not marked by this writer */
	json_object_put(c.arr);
	free(c.text);
	assert_int_equal(pr_store_timeline(t->s, 0, 0, 4243, 0, NULL, NULL), 0);
}

static void test_e2e_stats(void **state)
{
	struct e2e *t = *state;
	struct pr_stats st = { 0 };
	struct json_object *o;

	assert_int_equal(pr_store_stats(t->s, &st), 0);
	o = roundtrip(pr_json_stats(&st));
	assert_int_equal(get_u64(o, "incidents"), 1);
	assert_int_equal(get_u64(o, "lost_events"), 3);
	json_object_put(o);
	pr_stats_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esc_plain),
		cmocka_unit_test(test_esc_controls),
		cmocka_unit_test(test_esc_utf8),
		cmocka_unit_test(test_esc_invisible),
		cmocka_unit_test(test_esc_word),
		cmocka_unit_test(test_esc_long),
		cmocka_unit_test(test_esc_argv),
		cmocka_unit_test(test_utf8_fix),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_json_valid_passes),
		cmocka_unit_test(test_json_invalid_gets_b64),
		cmocka_unit_test(test_json_long_path),
		cmocka_unit_test(test_json_argv),
		cmocka_unit_test(test_fmt_time),
		cmocka_unit_test(test_parse_rfc3339),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_when),
		cmocka_unit_test(test_process_id),
		cmocka_unit_test(test_incident_json),
		cmocka_unit_test(test_incident_netpol_json),
		cmocka_unit_test(test_incident_full_json),
		cmocka_unit_test(test_incident_line_text),
		cmocka_unit_test(test_incident_full_text),
		cmocka_unit_test(test_fmt_offset),
		cmocka_unit_test(test_family_text),
		cmocka_unit_test(test_family_json),
		cmocka_unit_test(test_timeline_event_output),
		cmocka_unit_test(test_tree_text_and_json),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_network_json),
		cmocka_unit_test(test_network_text),
		cmocka_unit_test(test_payload_text),
	};
	const struct CMUnitTest e2e[] = {
		cmocka_unit_test(test_e2e_incidents),
		cmocka_unit_test(test_e2e_show),
		cmocka_unit_test(test_e2e_tree),
		cmocka_unit_test(test_e2e_timeline),
		cmocka_unit_test(test_e2e_stats),
	};
	int failed;

	failed = cmocka_run_group_tests_name("render", tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("render_e2e_store", e2e, e2e_setup, e2e_teardown);
	return failed ? 1 : 0;
}
