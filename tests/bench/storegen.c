// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Store generator for the store benchmark: writes synthetic incidents into
 * a store through the real store layer (schema/store.h), the same calls
 * polrecd's writer thread makes, so the bytes on disk are what polrecd
 * would produce for the same content.
 *
 *   storegen DIR EVENTS EVENTS_PER_INCIDENT SPREAD_SECONDS [MAX_SECONDS]
 *
 * Each incident has a 4-deep lineage (violator, a shell, sshd, init) with
 * argv, and EVENTS_PER_INCIDENT context events (file writes under a few
 * directories, with an exec and a fork among them). Incident times are
 * spread evenly over the SPREAD_SECONDS before now, so `--since 1h`
 * selects a realistic slice. Transactions of 1000 incidents, as a batching
 * writer would. With MAX_SECONDS it stops at the first commit after that
 * much time (the benchmark's time budget), so the store may hold fewer
 * events than asked. Prints "incidents=N events=N seconds=S" on stdout:
 * what was really written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "schema/store.h"

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void proc(struct pr_proc_rec *p, uint32_t pid, uint64_t start_boot, uint32_t ppid,
		 uint64_t pstart, uint64_t start_time, const char *exe, const char *argv,
		 size_t argv_len, uint32_t argc, uint32_t uid, const char *user)
{
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ppid = ppid;
	p->start_boot = start_boot;
	p->pstart_boot = pstart;
	p->start_time = start_time;
	p->uid = p->gid = uid;
	p->loginuid = uid ? uid : 1000;
	p->sessionid = 3;
	p->user = user;
	p->exe = exe;
	p->argv = argv;
	p->argv_len = argv_len;
	p->argc = argc;
	p->cwd = "/home/alice/src/project";
	p->cgroup_id = 4242;
	p->cgroup = "/user.slice/user-1000.slice/session-3.scope";
	p->container_id = "";
	p->sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
}

int main(int argc, char **argv)
{
	struct pr_store *s;
	char err[512];
	uint64_t nevents, per, spread, ninc, t_end, t0, written = 0, done = 0, max_ns = 0;
	static const char *const dirs[] = {
		"/etc/ssh", "/usr/lib/x86_64-linux-gnu", "/var/lib/app/cache", "/home/alice/.config/app",
		"/etc/cron.d", "/usr/local/bin", "/tmp/build-7f3a", "/var/log/app",
	};

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: storegen DIR EVENTS EVENTS_PER_INCIDENT SPREAD_SECONDS [MAX_SECONDS]\n");
		return 2;
	}
	nevents = strtoull(argv[2], NULL, 10);
	per = strtoull(argv[3], NULL, 10);
	spread = strtoull(argv[4], NULL, 10);
	if (argc == 6)
		max_ns = strtoull(argv[5], NULL, 10) * 1000000000ull;
	if (!nevents || !per || !spread) {
		fprintf(stderr, "storegen: counts must be positive\n");
		return 2;
	}
	ninc = (nevents + per - 1) / per;
	if (pr_store_open(&s, argv[1], PR_STORE_WRITE, err, sizeof(err))) {
		fprintf(stderr, "storegen: %s\n", err);
		return 1;
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	t_end = now_ns(CLOCK_REALTIME);
	uint64_t t_start = t_end - spread * 1000000000ull;
	uint64_t boot = now_ns(CLOCK_BOOTTIME);
	static const char init_argv[] = "/sbin/init\0splash";
	static const char sshd_argv[] = "sshd: alice [priv]";
	static const char sh_argv[] = "-bash";
	struct pr_proc_rec lin[4];
	struct pr_event_rec *ev = calloc(per, sizeof(*ev));
	char (*paths)[128] = calloc(per, sizeof(*paths));
	char vargv[256], detail[64];

	if (!ev || !paths)
		return 1;
	for (uint64_t i = 0; i < ninc; i++) {
		/* newest first, so a store cut short by MAX_SECONDS still covers
		 * the most recent hours at the intended density */
		uint64_t t = t_end - (spread * 1000000000ull / ninc) * i;
		uint32_t pid = 10000 + (uint32_t)(i % 4000000);
		uint64_t sb = boot - 1000000000ull + i * 1000;
		int alen;
		struct pr_incident_rec inc;
		uint64_t nev = per;

		if ((i + 1) * per > nevents)
			nev = nevents - i * per;
		if (i % 1000 == 0 && pr_store_begin(s)) {
			fprintf(stderr, "storegen: begin: %s\n", pr_store_errmsg(s));
			return 1;
		}
		alen = snprintf(vargv, sizeof(vargv), "/usr/bin/python3%c/opt/tool/run.py%c--job%c%llu", 0,
				0, 0, (unsigned long long)i);
		proc(&lin[0], pid, sb, 4100 + (uint32_t)(i % 50), 5000000000ull + (i % 50), t - 2000000,
		     "/usr/bin/python3.11", vargv, (size_t)alen + 1, 4, 1000, "alice");
		proc(&lin[1], 4100 + (uint32_t)(i % 50), 5000000000ull + (i % 50), 900, 3000000000ull,
		     t_start - 100, "/usr/bin/bash", sh_argv, sizeof(sh_argv), 1, 1000, "alice");
		proc(&lin[2], 900, 3000000000ull, 1, 1000000, t_start - 1000, "/usr/sbin/sshd", sshd_argv,
		     sizeof(sshd_argv), 1, 0, "root");
		proc(&lin[3], 1, 1000000, 0, 0, t_start - 10000, "/usr/lib/systemd/systemd", init_argv,
		     sizeof(init_argv), 2, 0, "root");
		for (uint64_t k = 0; k < nev; k++) {
			ev[k].time = t - 1000000 + k * 1000;
			ev[k].pid = pid;
			ev[k].start_boot = sb;
			ev[k].path2 = "";
			if (k == 0) {
				ev[k].kind = "exec";
				ev[k].path = "/usr/bin/python3.11";
				ev[k].detail = "";
			} else {
				ev[k].kind = "write";
				snprintf(paths[k], sizeof(paths[k]), "%s/file-%llu.%llu",
					 dirs[(i + k) % 8], (unsigned long long)(i % 997),
					 (unsigned long long)k);
				ev[k].path = paths[k];
				snprintf(detail, sizeof(detail), "flags=O_WRONLY|O_CREAT|O_TRUNC");
				ev[k].detail = detail;
			}
		}
		memset(&inc, 0, sizeof(inc));
		inc.time = t;
		inc.policy = "system-trees-unchanged";
		inc.rule = "files.protect";
		inc.severity = "high";
		inc.kind = "file";
		inc.action = "write";
		inc.path = nev > 1 ? ev[nev - 1].path : "/etc/ssh/sshd_config";
		inc.expected = "no writes under /etc/**";
		inc.actual = "python3.11 opened it for writing";
		inc.proc = lin[0];
		if (pr_store_add_incident(s, &inc, lin, 4, ev, nev) < 0) {
			fprintf(stderr, "storegen: add_incident: %s\n", pr_store_errmsg(s));
			return 1;
		}
		written += nev;
		done++;
		if (i % 1000 == 999 || i == ninc - 1) {
			if (pr_store_commit(s)) {
				fprintf(stderr, "storegen: commit: %s\n", pr_store_errmsg(s));
				return 1;
			}
			if (max_ns && now_ns(CLOCK_MONOTONIC) - t0 > max_ns)
				break;
		}
	}
	pr_store_close(s);
	printf("incidents=%llu events=%llu seconds=%.3f\n", (unsigned long long)done,
	       (unsigned long long)written, (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
	free(ev);
	free(paths);
	return 0;
}
