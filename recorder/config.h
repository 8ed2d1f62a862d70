/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * polrecd's settings file (polrecd.yaml): a YAML mapping whose keys are
 * polrecd's long option names and whose values are their arguments. It is
 * read against polrecd's own getopt table, so every option is a setting
 * without a line of code here: the file becomes arguments ("--name=VALUE")
 * that go through the same parsing as the command line, before it.
 */
#ifndef POLREC_CONFIG_H
#define POLREC_CONFIG_H

#include <getopt.h>
#include <stddef.h>

struct pr_config {
	char **args;                   /* "--name=VALUE" or "--name" (a flag set to true) */
	char **where;                  /* "FILE:LINE:COL" of each value */
	size_t n;
};

/* Read path against opts (NULL-terminated getopt table). Keys in refused
 * (NULL-terminated) are options that are not settings (--help, --config).
 * Keys in repeatable may take a list of values (each becomes one
 * argument). A flag (no_argument) takes true or false; any other option a
 * scalar. An empty file is no settings. On error returns -1 with one line
 * "FILE:LINE:COL: what" in err. */
int pr_config_load(const char *path, const struct option *opts, const char *const *refused,
		   const char *const *repeatable, struct pr_config *out, char *err,
		   size_t errlen);
void pr_config_free(struct pr_config *c);

#endif /* POLREC_CONFIG_H */
