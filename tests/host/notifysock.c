// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * notifysock PATH: stand in for systemd's notify socket. Binds a unix
 * datagram socket at PATH (mode 0600) and writes every datagram it gets
 * to stdout as "MSG <monotonic ms> <fields joined by ' | '>", one line
 * each, flushed, until SIGTERM. Used by tests/integration/t_notify.sh:
 * polrecd started with NOTIFY_SOCKET=PATH talks to it as it would to
 * systemd (which is not PID 1 on the test machines).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_term(int sig)
{
	done = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sigaction act = { .sa_handler = on_term };
	char buf[4096];
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notifysock PATH (shorter than %zu bytes)\n",
			sizeof(sa.sun_path));
		return 2;
	}
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	umask(077);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "notifysock: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("LISTENING\n");
	fflush(stdout);
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		struct timespec ts;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "notifysock: recv: %s\n", strerror(errno));
			break;
		}
		buf[n] = '\0';
		/* one line per datagram: fields are newline-separated */
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n' && i + 1 < n)
				buf[i] = '|';
			else if (buf[i] == '\n')
				buf[i] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &ts);
		printf("MSG %lld %s\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, buf);
		fflush(stdout);
	}
	close(fd);
	unlink(argv[1]);
	return 0;
}
