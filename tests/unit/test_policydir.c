// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Policies from several files (recorder/policydir.c): which files the
 * directories give (override, mask, order), the merge, its errors and its
 * SHA-256. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "recorder/policy.h"

static char tmp[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *exp_yaml(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata:\n  name: %s\n"
		 "spec:\n  subjects: [{all: true}]\n  files:\n    protect: [\"/x/%s/**\"]\n",
		 name, name);
	return buf;
}

static int setup(void **state)
{
	char d[128];

	snprintf(tmp, sizeof(tmp), "/tmp/polrec-unit-pd.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(d, sizeof(d), "%s/etc", tmp);
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(d, sizeof(d), "%s/vendor", tmp);
	assert_int_equal(mkdir(d, 0700), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd);
}

static void rel_names(const struct pr_strlist *l, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		assert_true(!strncmp(l->v[i], tmp, strlen(tmp)));
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "",
			 l->v[i] + strlen(tmp) + 1);
	}
}

static void test_dirs_override_mask_order(void **state)
{
	char etc[128], vendor[128], link[256], names[512], err[512];
	const char *dirs[2] = { etc, vendor };
	struct pr_policy_sources s = { .default_dirs = dirs, .ndefault_dirs = 2 };
	struct pr_strlist files;
	size_t masked;

	snprintf(etc, sizeof(etc), "%s/etc", tmp);
	snprintf(vendor, sizeof(vendor), "%s/vendor", tmp);
	put("vendor/10-base.yaml", exp_yaml("base"));
	put("etc/10-base.yaml", exp_yaml("base"));        /* replaces the vendor one */
	put("vendor/05-early.yaml", exp_yaml("early"));   /* vendor only: loaded, first */
	put("etc/20-local.yaml", exp_yaml("local"));
	put("vendor/30-net.yaml", exp_yaml("net"));
	snprintf(link, sizeof(link), "%s/etc/30-net.yaml", tmp);
	assert_int_equal(symlink("/dev/null", link), 0); /* masks it */
	put("vendor/40-empty.yaml", "");                  /* an empty file masks too */
	put("etc/README", "not a policy");
	put("etc/.hidden.yaml", exp_yaml("hidden"));
	put("etc/50-old.yaml.dpkg-old", exp_yaml("old"));

	assert_int_equal(pr_policy_sources_list(&s, &files, &masked, err, sizeof(err)), 0);
	rel_names(&files, names, sizeof(names));
	assert_string_equal(names, "vendor/05-early.yaml etc/10-base.yaml etc/20-local.yaml");
	assert_int_equal(masked, 2);
	pr_strlist_free(&files);
}

static void test_defaults_missing_explicit_errors(void **state)
{
	char missing[128], empty[128], err[512];
	const char *d1[1] = { missing }, *d2[1] = { empty };
	struct pr_policy_sources s = { .default_dirs = d1, .ndefault_dirs = 1 };
	struct pr_strlist files;
	size_t masked;

	snprintf(missing, sizeof(missing), "%s/none", tmp);
	snprintf(empty, sizeof(empty), "%s/etc", tmp);
	/* missing default directories: no file, no error (the embedded default) */
	assert_int_equal(pr_policy_sources_list(&s, &files, &masked, err, sizeof(err)), 0);
	assert_int_equal(files.n, 0);
	/* given explicitly: a missing or empty directory is an error */
	s = (struct pr_policy_sources){ .dirs = d1, .ndirs = 1 };
	assert_int_equal(pr_policy_sources_list(&s, &files, &masked, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/none: cannot open the policy directory: No such file"));
	s = (struct pr_policy_sources){ .dirs = d2, .ndirs = 1 };
	assert_int_equal(pr_policy_sources_list(&s, &files, &masked, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/etc: no policy file (*.yaml) in this directory"));
}

static void test_files_then_dirs(void **state)
{
	char vendor[128], file[128], names[512], err[512];
	const char *dirs[1] = { vendor }, *f[1] = { file };
	struct pr_policy_sources s = { .files = f, .nfiles = 1, .dirs = dirs, .ndirs = 1,
				       .default_dirs = dirs, .ndefault_dirs = 1 };
	struct pr_strlist files;
	size_t masked;

	snprintf(vendor, sizeof(vendor), "%s/vendor", tmp);
	snprintf(file, sizeof(file), "%s/z.yaml", tmp);
	put("vendor/a.yaml", exp_yaml("a"));
	put("z.yaml", exp_yaml("z"));
	assert_int_equal(pr_policy_sources_list(&s, &files, &masked, err, sizeof(err)), 0);
	rel_names(&files, names, sizeof(names));
	/* --policy files first, in the order given, then the directories' */
	assert_string_equal(names, "z.yaml vendor/a.yaml");
	pr_strlist_free(&files);
}

static void test_merge_and_hash(void **state)
{
	char a[128], b[128], sha[65], err[512], want[65];
	char *v[2] = { a, b };
	struct pr_strlist files = { v, 2 };
	struct pr_policy *p = NULL;
	struct pr_compiled *c = NULL;
	unsigned char md[32];
	unsigned int mdlen;

	snprintf(a, sizeof(a), "%s/a.yaml", tmp);
	snprintf(b, sizeof(b), "%s/b.yaml", tmp);
	put("a.yaml", exp_yaml("one"));
	{
		char two[1100];

		snprintf(two, sizeof(two), "%s---\n", exp_yaml("two"));
		strcat(two, exp_yaml("three"));
		put("b.yaml", two);
	}
	assert_int_equal(pr_policy_load_files(&files, &p, sha, err, sizeof(err)), 0);
	assert_int_equal(p->n, 3);
	assert_string_equal(p->exps[0].name, "one");
	assert_string_equal(p->exps[2].name, "three");
	assert_string_equal(p->exps[0].source, a);
	assert_string_equal(p->exps[1].source, b);
	assert_int_equal(p->exps[2].line, 10);
	assert_int_equal(strlen(sha), 64);
	/* the merged policy compiles like one file */
	assert_int_equal(pr_policy_compile(p, &c, err, sizeof(err)), 0);
	pr_compiled_free(c);
	pr_policy_free(p);

	/* one file: the SHA-256 of its bytes, as sha256sum prints it */
	files.n = 1;
	assert_int_equal(pr_policy_load_files(&files, &p, sha, err, sizeof(err)), 0);
	assert_int_equal(EVP_Digest(exp_yaml("one"), strlen(exp_yaml("one")), md, &mdlen,
				    EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(sha, want);
	pr_policy_free(p);
}

static void test_duplicate_across_files(void **state)
{
	char a[128], b[128], sha[65], err[512], want[512];
	char *v[2] = { a, b };
	struct pr_strlist files = { v, 2 };
	struct pr_policy *p = (struct pr_policy *)1;

	snprintf(a, sizeof(a), "%s/a.yaml", tmp);
	snprintf(b, sizeof(b), "%s/b.yaml", tmp);
	put("a.yaml", exp_yaml("same"));
	{
		char two[1100];

		snprintf(two, sizeof(two), "%s---\n", exp_yaml("other"));
		strcat(two, exp_yaml("same"));
		put("b.yaml", two);
	}
	assert_int_equal(pr_policy_load_files(&files, &p, sha, err, sizeof(err)), -1);
	assert_null(p);
	snprintf(want, sizeof(want),
		 "%s:10:1: duplicate expectation name \"same\" (already used by the document at %s:1:1)",
		 b, a);
	assert_string_equal(err, want);
}

static void test_error_keeps_file_position(void **state)
{
	char a[128], b[128], sha[65], err[512], want[512];
	char *v[2] = { a, b };
	struct pr_strlist files = { v, 2 };
	struct pr_policy *p = NULL;

	snprintf(a, sizeof(a), "%s/a.yaml", tmp);
	snprintf(b, sizeof(b), "%s/b.yaml", tmp);
	put("a.yaml", exp_yaml("fine"));
	put("b.yaml", "apiVersion: polrec.dev/v1\nkind: Expectation\nmetadata:\n  name: x\n"
		      "spec:\n  subjects: [{all: true}]\n  files:\n    protekt: [\"/x\"]\n");
	assert_int_equal(pr_policy_load_files(&files, &p, sha, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:8:5: unknown key \"protekt\"", b);
	assert_true(!strncmp(err, want, strlen(want)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dirs_override_mask_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_missing_explicit_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_then_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_and_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_across_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_keeps_file_position, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
