/* test_heartbeat.c: init's heartbeat code (heartbeat.c, the same file
 * init is built from) against a real AF_VSOCK listener on the loopback
 * CID 1, in the part of the parent (nitro-cli) played by a child process.
 *
 * usage: test_heartbeat [PORT]      (default 9000)
 * Exit status 0: all passed; 1: a case failed; 77: skipped (this kernel
 * has no AF_VSOCK, or no loopback transport: the vsock_loopback module),
 * with the reason on stdout. Runs on the host and inside a test enclave. */
#define _GNU_SOURCE 1

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heartbeat.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define CID_LOCAL 1
#define SKIP 77

struct vsock_addr { /* struct sockaddr_vm */
	unsigned short family, reserved1;
	unsigned int port, cid;
	unsigned char flags, zero[3];
};

enum reply_mode { ECHO, WRONG, HANG_UP };

static int listener(unsigned port)
{
	struct vsock_addr a = { .family = AF_VSOCK, .port = port, .cid = CID_LOCAL };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		printf("skipped: socket(AF_VSOCK): %s: this kernel has no vsock\n",
		       strerror(errno));
		exit(SKIP);
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("skipped: bind vsock %u:%u: %s: %s\n", CID_LOCAL, port,
		       strerror(errno), errno == EADDRNOTAVAIL ?
		       "no loopback transport (module vsock_loopback)" :
		       "cannot listen");
		exit(SKIP);
	}
	if (listen(fd, 4) < 0) {
		printf("listen: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* The parent's side: accept, read one byte, answer as told. Exit status
 * 0 when the byte was HEARTBEAT_BYTE. */
static pid_t serve(int lfd, enum reply_mode mode)
{
	unsigned char b = 0;
	pid_t pid = fork();
	int fd, ok;

	if (pid != 0)
		return pid;
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(2);
	ok = read(fd, &b, 1) == 1 && b == HEARTBEAT_BYTE;
	if (mode == WRONG)
		b = 0x00;
	if (mode != HANG_UP && write(fd, &b, 1) != 1)
		_exit(3);
	if (mode != HANG_UP) /* wait for the client to close first */
		(void)!read(fd, &b, 1);
	close(fd);
	_exit(ok ? 0 : 4);
}

static int server_status(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int check(int cond, const char *name, const struct hb_result *r)
{
	printf("%s %s (step %s, %s, reply 0x%02x)\n", cond ? "ok" : "FAILED",
	       name, hb_step_name(r->step), r->err ? strerror(r->err) : "-",
	       r->reply);
	return cond ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned port = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 9000;
	int lfd = listener(port), bad = 0, ret, st;
	struct hb_result r;
	pid_t srv;

	srv = serve(lfd, ECHO);
	ret = heartbeat(CID_LOCAL, port, &r);
	st = server_status(srv);
	bad += check(ret == 0 && st == 0, "echo: 0xB7 sent and received", &r);

	srv = serve(lfd, WRONG);
	ret = heartbeat(CID_LOCAL, port, &r);
	server_status(srv);
	bad += check(ret < 0 && r.step == HB_REPLY && r.reply == 0,
		     "a wrong reply is refused", &r);

	srv = serve(lfd, HANG_UP);
	ret = heartbeat(CID_LOCAL, port, &r);
	server_status(srv);
	bad += check(ret < 0 && (r.step == HB_EOF || r.step == HB_READ),
		     "no reply is refused", &r);

	close(lfd);
	ret = heartbeat(CID_LOCAL, port + 1, &r);
	bad += check(ret < 0 && r.step == HB_CONNECT,
		     "no listener: connect fails", &r);

	printf("heartbeat test: %d of 4 passed\n", 4 - bad);
	return bad ? 1 : 0;
}
