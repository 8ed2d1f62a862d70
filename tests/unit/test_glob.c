// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Path globs: semantics, validation and bounded work on hostile input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "recorder/policy.h"

#define YES(p, s) assert_int_equal(pr_glob_match(p, s), 1)
#define NO(p, s) assert_int_equal(pr_glob_match(p, s), 0)

static void test_literal(void **state)
{
	YES("/usr/bin/gzip", "/usr/bin/gzip");
	NO("/usr/bin/gzip", "/usr/bin/gzip2");
	NO("/usr/bin/gzip", "/usr/bin/gzi");
	NO("/usr/bin/gzip", "");
	YES("/", "/");
	YES("/a\\b", "/a\\b");                  /* no backslash escapes */
}

static void test_star(void **state)
{
	YES("/usr/bin/*", "/usr/bin/gzip");
	YES("/usr/bin/*", "/usr/bin/");
	NO("/usr/bin/*", "/usr/bin/x/y");
	NO("/usr/bin/*", "/usr/bin");
	YES("/bin/*sh", "/bin/bash");
	YES("/bin/*sh", "/bin/sh");
	NO("/bin/*sh", "/bin/shx");
	YES("/home/*/.ssh/authorized_keys*", "/home/bob/.ssh/authorized_keys2");
	NO("/home/*/.ssh/authorized_keys*", "/home/a/b/.ssh/authorized_keys");
	YES("/usr/sbin/php-fpm*", "/usr/sbin/php-fpm8.2");
	YES("/*/*/*", "/a/b/c");
	NO("/*/*/*", "/a/b");
	YES("/a*b*c", "/aXbYc");
	NO("/a*b*c", "/aXb/c");
}

static void test_double_star(void **state)
{
	YES("/etc/**", "/etc");                 /* the tree's root itself */
	YES("/etc/**", "/etc/");
	YES("/etc/**", "/etc/passwd");
	YES("/etc/**", "/etc/ssh/sshd_config.d/x.conf");
	NO("/etc/**", "/etcx");
	NO("/etc/**", "/etc2/passwd");
	NO("/etc/**", "/et");
	YES("**", "");
	YES("**", "/any/thing");
	YES("**/nginx", "/usr/sbin/nginx");
	NO("**/nginx", "/usr/sbin/nginx2");
	/* in the middle: zero or more components */
	YES("/usr/**/bin/*", "/usr/bin/ls");
	YES("/usr/**/bin/*", "/usr/local/bin/ls");
	YES("/usr/**/bin/*", "/usr/a/b/c/bin/ls");
	NO("/usr/**/bin/*", "/usr/local/sbin/ls");
	NO("/usr/**/bin/*", "/usr/bin/x/ls");
	/* inside a component it is just "any run, slashes included" */
	YES("/var/log/**.log", "/var/log/nginx/access.log");
	YES("/var/log/**.log", "/var/log/syslog.log");
	NO("/var/log/**.log", "/var/log/syslog");
	YES("/etc/cron*/**", "/etc/crontab");
	YES("/etc/cron*/**", "/etc/cron.d/php");
	NO("/etc/cron*/**", "/etc/cro");
	YES("/lib/**/*.so", "/lib/x86_64-linux-gnu/libc.so");
	YES("/***", "/a/b");
}

static void test_question(void **state)
{
	YES("/bin/?sh", "/bin/zsh");
	NO("/bin/?sh", "/bin/sh");
	NO("/a?b", "/a/b");
	YES("/a??", "/abc");
}

static void test_classes(void **state)
{
	YES("/dev/tty[0-9]", "/dev/tty5");
	NO("/dev/tty[0-9]", "/dev/ttyS");
	YES("/dev/tty[!0-9]", "/dev/ttyS");
	NO("/dev/tty[!0-9]", "/dev/tty1");
	YES("/x[^a]", "/xb");
	NO("/x[^a]", "/xa");
	YES("/x[]]", "/x]");                    /* ']' first is a member */
	YES("/x[!]]", "/xa");
	NO("/x[!]]", "/x]");
	YES("/x[a-]", "/x-");                   /* '-' last is literal */
	YES("/x[abc]", "/xc");
	NO("/x[abc]", "/xd");
	YES("/a[*]", "/a*");                    /* a literal metachar */
	NO("/a[*]", "/ab");
	YES("/a[[]", "/a[");
	NO("/a[!x]b", "/a/b");                  /* never '/' */
	NO("/a[/]b", "/a/b");
	/* an unterminated class is a literal '[' to the matcher */
	YES("/a[b", "/a[b");
}

static void test_raw_bytes(void **state)
{
	YES("/tmp/\xff\xfe*", "/tmp/\xff\xfe\x01z");
	YES("/tmp/[\x80-\xff]", "/tmp/\xe9");
	NO("/tmp/[\x80-\xff]", "/tmp/e");
	YES("/tmp/?", "/tmp/\x80");
	NO("/tmp/\xc3\xa9", "/tmp/\xc3\xa8");
}

static void test_check(void **state)
{
	char big[PR_GLOB_MAX_LEN + 2];

	assert_null(pr_glob_check("/etc/**"));
	assert_null(pr_glob_check("**/nginx"));
	assert_null(pr_glob_check("/x[]]"));
	assert_string_equal(pr_glob_check(""), "empty pattern");
	assert_string_equal(pr_glob_check("etc/passwd"),
			    "pattern must be absolute (start with '/' or '**')");
	assert_string_equal(pr_glob_check("*/x"),
			    "pattern must be absolute (start with '/' or '**')");
	assert_string_equal(pr_glob_check("/etc/[ab"),
			    "unterminated character class '[' (write [[] for a literal '[')");
	assert_string_equal(pr_glob_check("/etc/[]"),
			    "unterminated character class '[' (write [[] for a literal '[')");
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	assert_string_equal(pr_glob_check(big), "pattern longer than 4096 bytes");
	NO(big, big);                           /* never matches either */
	big[PR_GLOB_MAX_LEN] = '\0';
	assert_null(pr_glob_check(big));
	YES(big, big);
}

static void test_prefix_len(void **state)
{
	assert_int_equal(pr_glob_prefix_len("/etc/**"), 5);
	assert_int_equal(pr_glob_prefix_len("/usr/bin/gzip"), 13);
	assert_int_equal(pr_glob_prefix_len("**"), 0);
	assert_int_equal(pr_glob_prefix_len("/dev/tty[0-9]"), 8);
	assert_int_equal(pr_glob_prefix_len("/bin/?sh"), 5);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Patterns that make backtracking matchers exponential finish at once. */
static void test_hostile(void **state)
{
	char *path = malloc(4001), *pat = malloc(PR_GLOB_MAX_LEN + 1);
	double t0 = now();

	memset(path, 'a', 4000);
	path[4000] = '\0';
	NO("*a*a*a*a*a*a*a*b", path);                    /* not absolute: still safe */
	NO("/*a*a*a*a*a*a*a*b", path);
	NO("**a**a**a**a**a**a**a**b", path);
	NO("**a*a**a*a**a*a**a*b", path);
	path[0] = '/';
	NO("/*a*a*a*a*a*a*a*b", path);
	YES("/*a*a*a*a*a*a*a*a", path);
	for (size_t i = 1; i < 4000; i += 2)
		path[i] = '/';
	path[3999] = '\0';                              /* "//a/a/.../a" */
	NO("**/a/**/a/**/a/**/a/**/a/**/b", path);
	YES("**/a/**/a/**/a/**/a/**/a", path);
	/* the longest pattern against the longest path */
	for (size_t i = 0; i < PR_GLOB_MAX_LEN; i++)
		pat[i] = i % 2 ? '*' : 'a';
	pat[0] = '/';
	pat[PR_GLOB_MAX_LEN - 1] = 'b';
	pat[PR_GLOB_MAX_LEN] = '\0';
	memset(path, 'a', 4000);
	path[0] = '/';
	path[4000] = '\0';
	NO(pat, path);
	assert_true(now() - t0 < 2.0);
	free(path);
	free(pat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_star),
		cmocka_unit_test(test_double_star),
		cmocka_unit_test(test_question),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_raw_bytes),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_prefix_len),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
