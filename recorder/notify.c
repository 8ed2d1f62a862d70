// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * systemd's readiness protocol (sd_notify(3), libsystemd): READY=1 once the
 * probes are attached and the store is open, STATUS= lines, RELOADING=1
 * around a SIGHUP reload, WATCHDOG=1 from the main loop, STOPPING=1 at
 * the end. Without NOTIFY_SOCKET (not started by systemd) libsystemd
 * sends nothing and none of this changes anything.
 *
 * The watchdog is kept from the loop that consumes the ring buffer, not
 * from a thread of its own: a consumer that wedges stops the pings and
 * systemd restarts polrecd (WatchdogSec= in the unit).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include "recorder/polrecd.h"

static uint64_t wd_usec;               /* 0: no watchdog asked for */
static uint64_t wd_next_ns;
static int armed;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void notify(const char *state)
{
	int rc = sd_notify(0, state);

	/* once: a broken socket must not flood the log */
	static int warned;

	if (rc < 0 && !warned) {
		warned = 1;
		pr_log("cannot notify systemd (%.*s): %s", (int)strcspn(state, "\n"), state,
		       strerror(-rc));
	}
}

void pr_notify_ready(const char *status)
{
	char msg[300];
	uint64_t usec = 0;

	/* after a reload: READY=1 again, the watchdog is already set */
	if (!armed) {
		armed = 1;
		if (sd_watchdog_enabled(0, &usec) > 0) {
			wd_usec = usec;
			wd_next_ns = mono_ns();
			pr_log("systemd watchdog: pinging every %llu ms",
			       (unsigned long long)(wd_usec / 2000));
		}
	}
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify(msg);
}

void pr_notify_status(const char *status)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	notify(msg);
}

/* Type=notify-reload (systemd 253+) wants MONOTONIC_USEC with RELOADING=1;
 * older systemd ignores the extra field. */
void pr_notify_reloading(void)
{
	char msg[80];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)(mono_ns() / 1000));
	notify(msg);
}

void pr_notify_stopping(void)
{
	notify("STOPPING=1");
}

/* Called every pass of the main loop (10 ms); pings at half the period. */
void pr_notify_watchdog(void)
{
	uint64_t now;

	if (!wd_usec)
		return;
	now = mono_ns();
	if (now < wd_next_ns)
		return;
	notify("WATCHDOG=1");
	wd_next_ns = now + wd_usec * 1000 / 2;
}
