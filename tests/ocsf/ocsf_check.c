// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * ocsf-check SCHEMA_DIR [FILE...]: check every line of NDJSON (stdin when
 * no FILE) against the OCSF schema copy in SCHEMA_DIR (schema_check.h).
 * Prints "FILE:LINE: problem" for each problem and, last, one line
 * "ocsf-check: N records (2004=..., 1007=...), P problems".
 * Exit 0 when every record passes, 1 when any fails (a line that is not
 * JSON, or is empty, fails too), 2 on usage or a schema that cannot load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "schema_check.h"

struct tally {
	long records, problems;
	long by_class[8];
	int class_uid[8];
};

static void count_class(struct tally *t, struct json_object *rec)
{
	struct json_object *v;
	int uid;

	if (!json_object_object_get_ex(rec, "class_uid", &v))
		return;
	uid = json_object_get_int(v);
	for (int i = 0; i < 8; i++) {
		if (!t->class_uid[i])
			t->class_uid[i] = uid;
		if (t->class_uid[i] == uid) {
			t->by_class[i]++;
			return;
		}
	}
}

static int check_file(struct ocsf_schema *s, const char *name, FILE *f, struct tally *t)
{
	char *line = NULL, out[8192];
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;

	while ((n = getline(&line, &cap, f)) >= 0) {
		struct json_object *rec;
		enum json_tokener_error jerr;

		lineno++;
		if (n == 0 || line[n - 1] != '\n') {
			printf("%s:%ld: line not terminated by a newline (torn?)\n", name, lineno);
			t->problems++;
		}
		rec = json_tokener_parse_verbose(line, &jerr);
		if (!rec) {
			printf("%s:%ld: not JSON: %s\n", name, lineno, json_tokener_error_desc(jerr));
			t->problems++;
			continue;
		}
		t->records++;
		count_class(t, rec);
		if (ocsf_schema_check(s, rec, out, sizeof(out))) {
			char *save, *p;

			for (p = strtok_r(out, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
				printf("%s:%ld: %s\n", name, lineno, p);
				t->problems++;
			}
		}
		json_object_put(rec);
	}
	free(line);
	return ferror(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct tally t = { 0 };
	struct ocsf_schema *s;
	char err[1024];
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: ocsf-check SCHEMA_DIR [FILE...]\n");
		return 2;
	}
	s = ocsf_schema_load(argv[1], err, sizeof(err));
	if (!s) {
		fprintf(stderr, "ocsf-check: %s\n", err);
		return 2;
	}
	if (argc == 2)
		rc = check_file(s, "(stdin)", stdin, &t);
	for (int i = 2; i < argc && !rc; i++) {
		FILE *f = fopen(argv[i], "r");

		if (!f) {
			perror(argv[i]);
			rc = -1;
			break;
		}
		rc = check_file(s, argv[i], f, &t);
		fclose(f);
	}
	ocsf_schema_free(s);
	printf("ocsf-check: %ld records (", t.records);
	for (int i = 0; i < 8 && t.class_uid[i]; i++)
		printf("%s%d=%ld", i ? ", " : "", t.class_uid[i], t.by_class[i]);
	printf("), %ld problems\n", t.problems);
	if (rc)
		return 2;
	return t.problems || !t.records ? 1 : 0;
}
