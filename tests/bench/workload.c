// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Benchmark workloads for tests/bench/run. Each subcommand runs a tight
 * loop and prints the elapsed wall time of the loop alone (CLOCK_MONOTONIC,
 * seconds, one line) on stdout, so start-up and set-up are not measured.
 *
 *   workload file DIR N       open(O_WRONLY|O_CREAT|O_TRUNC) + write 64 B +
 *                             close, N times, over 64 file names in DIR
 *   workload exec N           fork + execve("/bin/true") + waitpid, N times
 *   workload connect N        TCP connect + close to a 127.0.0.1 listener
 *                             this program starts itself (accept thread)
 *   workload packets N        N UDP datagrams of 64 B to a 127.0.0.1 socket
 *                             of its own, drained by a receiver thread
 *   workload packets N ADDR PORT
 *                             the same flood to ADDR:PORT (IPv4), drained
 *                             by a udp-sink elsewhere (the veth peer)
 *   workload udp-sink ADDR PORT
 *                             binds ADDR:PORT (UDP), prints "ready", drains
 *                             datagrams until killed (not timed)
 *   workload capture N VPORT SETTLE_MS
 *                             one datagram to 127.0.0.1:VPORT (the strict
 *                             policy forbids ports below 1024: a violation,
 *                             so polrecd follows this process), SETTLE_MS of
 *                             sleep (polrecd judges and starts following),
 *                             then the packets loop; prints "TIME sent=S"
 *                             (S = sends that succeeded)
 *
 * Nothing here talks to anything but loopback, the address given (the
 * benchmark passes only its own veth pair's) and DIR.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long parse_n(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*end || n <= 0) {
		fprintf(stderr, "workload: bad count '%s'\n", s);
		exit(2);
	}
	return n;
}

static int do_file(const char *dir, long n)
{
	static char names[64][4096];
	char buf[64];
	double t0;

	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < 64; i++)
		snprintf(names[i], sizeof(names[i]), "%s/f%02d", dir, i);
	t0 = now();
	for (long i = 0; i < n; i++) {
		int fd = open(names[i & 63], O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0)
			die(names[i & 63]);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("write");
		close(fd);
	}
	printf("%.6f\n", now() - t0);
	return 0;
}

static int do_exec(long n)
{
	char *const argv[] = {"true", NULL};
	char *const envp[] = {NULL};
	double t0 = now();

	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		int st;

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			execve("/bin/true", argv, envp);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "workload: /bin/true failed\n");
			return 1;
		}
	}
	printf("%.6f\n", now() - t0);
	return 0;
}

static int listen_fd;

static void *acceptor(void *arg)
{
	for (;;) {
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;
		}
		close(fd);
	}
}

static int do_connect(long n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	/* RST on close: no TIME_WAIT, so a long loop never runs out of ports */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	pthread_t th;
	double t0;

	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(listen_fd, 4096) || getsockname(listen_fd, (struct sockaddr *)&a, &alen))
		die("listener on 127.0.0.1");
	if (pthread_create(&th, NULL, acceptor, NULL))
		die("pthread_create");
	t0 = now();
	for (long i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)))
			die("connect 127.0.0.1");
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	printf("%.6f\n", now() - t0);
	shutdown(listen_fd, SHUT_RDWR);
	close(listen_fd);
	return 0;
}

static int udp_rx;

static void *receiver(void *arg)
{
	char buf[2048];

	while (recv(udp_rx, buf, sizeof(buf), 0) >= 0 || errno == EINTR)
		;
	return NULL;
}

static struct sockaddr_in parse_addr(const char *addr, const char *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	char *end;
	long p = strtol(port, &end, 10);

	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1 || *end || p <= 0 || p > 65535) {
		fprintf(stderr, "workload: bad address '%s' port '%s'\n", addr, port);
		exit(2);
	}
	a.sin_port = htons((uint16_t)p);
	return a;
}

/* The flood: n datagrams of 64 B on the connected socket tx; returns the
 * sends that succeeded. */
static long flood(int tx, long n)
{
	char buf[64];
	long ok = 0;

	memset(buf, 'p', sizeof(buf));
	for (long i = 0; i < n; i++) {
		/* a full receive queue drops in the kernel; the send still ran */
		if (send(tx, buf, sizeof(buf), 0) >= 0)
			ok++;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
			die("send");
	}
	return ok;
}

/* dst NULL: a receiver socket and thread of its own on 127.0.0.1 */
static int do_packets(long n, const struct sockaddr_in *dst, int capture_port, long settle_ms)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	pthread_t th;
	double t0, t;
	long sent;
	int tx;

	if (capture_port) {
		/* the violation: a datagram to a port the policy does not allow */
		struct sockaddr_in v = a;
		int vs = socket(AF_INET, SOCK_DGRAM, 0);

		v.sin_port = htons((uint16_t)capture_port);
		if (vs < 0 || sendto(vs, "polrec-bench", 12, 0, (struct sockaddr *)&v, sizeof(v)) < 0)
			die("violating send");
		close(vs);
		usleep(settle_ms * 1000);
	}
	if (dst) {
		a = *dst;
	} else {
		udp_rx = socket(AF_INET, SOCK_DGRAM, 0);
		if (udp_rx < 0 || bind(udp_rx, (struct sockaddr *)&a, sizeof(a)) ||
		    getsockname(udp_rx, (struct sockaddr *)&a, &alen))
			die("udp receiver on 127.0.0.1");
	}
	tx = socket(AF_INET, SOCK_DGRAM, 0);
	if (tx < 0 || connect(tx, (struct sockaddr *)&a, sizeof(a)))
		die("udp sender");
	if (!dst && pthread_create(&th, NULL, receiver, NULL))
		die("pthread_create");
	t0 = now();
	sent = flood(tx, n);
	t = now() - t0;
	if (capture_port)
		printf("%.6f sent=%ld\n", t, sent);
	else
		printf("%.6f\n", t);
	if (!dst)
		shutdown(udp_rx, SHUT_RDWR);
	close(tx);
	return 0;
}

static int do_udp_sink(const char *addr, const char *port)
{
	struct sockaddr_in a = parse_addr(addr, port);
	char buf[2048];
	int rcvbuf = 4 << 20;

	udp_rx = socket(AF_INET, SOCK_DGRAM, 0);
	if (udp_rx < 0)
		die("socket");
	setsockopt(udp_rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(udp_rx, (struct sockaddr *)&a, sizeof(a)))
		die("udp-sink bind");
	printf("ready\n");
	signal(SIGTERM, SIG_DFL);
	while (recv(udp_rx, buf, sizeof(buf), 0) >= 0 || errno == EINTR)
		;
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "file"))
		return do_file(argv[2], parse_n(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "exec"))
		return do_exec(parse_n(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "connect"))
		return do_connect(parse_n(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "packets"))
		return do_packets(parse_n(argv[2]), NULL, 0, 0);
	if (argc == 5 && !strcmp(argv[1], "packets")) {
		struct sockaddr_in d = parse_addr(argv[3], argv[4]);

		return do_packets(parse_n(argv[2]), &d, 0, 0);
	}
	if (argc == 4 && !strcmp(argv[1], "udp-sink"))
		return do_udp_sink(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "capture")) {
		long vport = parse_n(argv[3]), settle = parse_n(argv[4]);

		if (vport > 65535) {
			fprintf(stderr, "workload: bad port '%s'\n", argv[3]);
			return 2;
		}
		return do_packets(parse_n(argv[2]), NULL, (int)vport, settle);
	}
	fprintf(stderr, "usage: workload file DIR N | exec N | connect N | packets N [ADDR PORT] |\n"
			"       udp-sink ADDR PORT | capture N VPORT SETTLE_MS\n");
	return 2;
}
