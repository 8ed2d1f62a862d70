/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * polq and the terminal: whether to colour, the pager, and the signals
 * that end `polq incidents -f`. In the render library (not polq.c) so the
 * fuzz target can replace the parts that fork or wait (tests/fuzz).
 */
#ifndef POLREC_TERM_H
#define POLREC_TERM_H

#include <stdbool.h>

enum pr_color_mode {
	PR_COLOR_AUTO,   /* a terminal, $NO_COLOR unset or empty, $TERM not dumb */
	PR_COLOR_ALWAYS,
	PR_COLOR_NEVER,
};

/* "auto", "always", "never" (NULL, as a bare --color: always); 0 or -1. */
int pr_color_parse(const char *s, enum pr_color_mode *mode);
/* Whether text written to fd should be coloured, reading the environment
 * as above. fd < 0 (a memory stream) is no terminal. */
bool pr_color_want(enum pr_color_mode mode, int fd);

/* The pager command: $POLQ_PAGER, then $PAGER, then "less"; NULL when the
 * one set is empty or "cat" (no pager), as git does. */
const char *pr_pager_command(void);
/* Start the pager (pr_pager_command) with stdout as its input, when fd 1
 * is stdout's and a terminal. The pager runs with LESS=FRX when $LESS is
 * unset (quit if one screen, keep colours, leave the screen as it is);
 * a command with shell syntax runs through /bin/sh -c. From then on
 * SIGPIPE is ignored (a pager that quit is EPIPE, which polq takes as the
 * reader being done) and so are SIGINT and SIGQUIT (the pager owns the
 * keyboard). When it cannot start, stdout is left as it was and, if the
 * command came from the environment, one line on stderr says why.
 * Returns true when paging. */
bool pr_pager_start(void);
/* Whether a pager runs (then EPIPE on stdout is not an error). */
bool pr_pager_active(void);
/* Flush and close stdout, then wait for the pager to exit. */
void pr_pager_end(void);

/* Following: SIGINT, SIGTERM and SIGPIPE set a flag (and interrupt the
 * sleep) instead of ending the process. 0 or -1. */
int pr_follow_signals(void);
/* Sleep ms, cut short by one of those signals; false once one came. */
bool pr_follow_sleep(unsigned int ms);
/* One of those signals came (a write it interrupted is not an error). */
bool pr_follow_stopped(void);

#endif /* POLREC_TERM_H */
