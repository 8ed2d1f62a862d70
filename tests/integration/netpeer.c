// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * netpeer: the network end of the integration tests, one small program so
 * a test's subject is an executable the policy can name exactly (the test
 * copies it under a name of its own).
 *
 *   netpeer tcp-connect ADDR PORT [PAYLOAD]  connect, send PAYLOAD, read the reply
 *   netpeer udp-send ADDR PORT PAYLOAD       one datagram
 *   netpeer tcp-serve ADDR PORT [COUNT]      accept COUNT (1) connections, answer
 *                                             each with a small HTTP response
 *   netpeer udp-serve ADDR PORT              receive one datagram
 *   netpeer tcp-listen ADDR PORT             listen, then exit
 *   netpeer ptrace-attach PID                attach, wait for the stop, detach
 *                                             (the recorder's self-protection test)
 *
 * Servers print "ready" once listening. Exit 0 on success, 1 when the
 * network operation failed (the error is printed), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 14\r\n\r\npolrec-payload";

static int addr(const char *host, const char *port, struct sockaddr_storage *ss,
		socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	char *end;
	long p = strtol(port, &end, 10);

	if (*end || p < 0 || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a6);
		return 0;
	}
	return -1;
}

static int fail(const char *what)
{
	printf("error %s: %s\n", what, strerrorname_np(errno) ? strerrorname_np(errno) : "?");
	return 1;
}

static void read_some(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	if (poll(&pfd, 1, 2000) <= 0)
		return;
	n = read(fd, buf, sizeof(buf));
	printf("reply %zd bytes\n", n);
}

/* NETPEER_BIND=ADDR: the client's source address (a peer an ingress rule
 * does not allow, say) */
static int bind_source(int fd, int family)
{
	const char *src = getenv("NETPEER_BIND");
	struct sockaddr_storage ss;
	socklen_t len;

	if (!src)
		return 0;
	if (addr(src, "0", &ss, &len) || ss.ss_family != family)
		return -1;
	return bind(fd, (struct sockaddr *)&ss, len);
}

static int tcp_connect(struct sockaddr_storage *ss, socklen_t len, const char *payload)
{
	int fd = socket(ss->ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		return fail("socket");
	if (bind_source(fd, ss->ss_family))
		return fail("bind");
	if (connect(fd, (struct sockaddr *)ss, len))
		return fail("connect");
	printf("connected\n");
	if (payload && write(fd, payload, strlen(payload)) < 0)
		return fail("write");
	if (payload)
		read_some(fd);
	close(fd);
	return 0;
}

static int udp_send(struct sockaddr_storage *ss, socklen_t len, const char *payload)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM, 0);

	if (fd < 0)
		return fail("socket");
	if (sendto(fd, payload, strlen(payload), 0, (struct sockaddr *)ss, len) < 0)
		return fail("sendto");
	printf("sent\n");
	close(fd);
	return 0;
}

static int bound(struct sockaddr_storage *ss, socklen_t len, int type)
{
	int one = 1, fd = socket(ss->ss_family, type, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 16))) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_serve(struct sockaddr_storage *ss, socklen_t len, long count)
{
	int fd = bound(ss, len, SOCK_STREAM);

	if (fd < 0)
		return fail("listen");
	printf("ready\n");
	fflush(stdout);
	for (long i = 0; i < count; i++) {
		char buf[4096];
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			return fail("accept");
		if (read(c, buf, sizeof(buf)) > 0 && write(c, reply, sizeof(reply) - 1) < 0)
			perror("write");
		close(c);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t len;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "ptrace-attach")) {
		pid_t pid = (pid_t)strtol(argv[2], NULL, 10);

		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL))
			return fail("ptrace");
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		printf("attached and detached\n");
		return 0;
	}
	if (argc < 4 || addr(argv[2], argv[3], &ss, &len)) {
		fprintf(stderr, "usage: netpeer MODE ADDR PORT [ARG] (see the source)\n");
		return 2;
	}
	if (!strcmp(argv[1], "tcp-connect"))
		return tcp_connect(&ss, len, argc > 4 ? argv[4] : NULL);
	if (!strcmp(argv[1], "udp-send") && argc > 4)
		return udp_send(&ss, len, argv[4]);
	if (!strcmp(argv[1], "tcp-serve"))
		return tcp_serve(&ss, len, argc > 4 ? strtol(argv[4], NULL, 10) : 1);
	if (!strcmp(argv[1], "tcp-listen")) {
		int fd = bound(&ss, len, SOCK_STREAM);

		if (fd < 0)
			return fail("listen");
		printf("listening\n");
		return 0;
	}
	if (!strcmp(argv[1], "udp-serve")) {
		char buf[2048];
		int fd = bound(&ss, len, SOCK_DGRAM);

		if (fd < 0)
			return fail("bind");
		printf("ready\n");
		fflush(stdout);
		if (recv(fd, buf, sizeof(buf), 0) < 0)
			return fail("recv");
		return 0;
	}
	fprintf(stderr, "netpeer: unknown mode '%s'\n", argv[1]);
	return 2;
}
