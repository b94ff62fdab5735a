/* heartbeat.c: the "enclave ready" handshake with the parent instance. */
#define _GNU_SOURCE 1

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "heartbeat.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* struct sockaddr_vm from <linux/vm_sockets.h>, spelled out because
 * musl's headers do not carry the kernel's. */
struct vsock_addr {
	unsigned short svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_flags;
	unsigned char svm_zero[3];
};

static int fail(struct hb_result *res, enum hb_step step, int err)
{
	res->step = step;
	res->err = err;
	return -1;
}

/* Send or receive exactly one byte, retrying on EINTR. */
static ssize_t one_byte(int fd, unsigned char *b, int sending)
{
	ssize_t n;

	do
		n = sending ? write(fd, b, 1) : read(fd, b, 1);
	while (n < 0 && errno == EINTR);
	return n;
}

static int exchange(int fd, unsigned cid, unsigned port,
		    struct hb_result *res)
{
	struct vsock_addr addr;
	unsigned char b = HEARTBEAT_BYTE;
	ssize_t n;

	memset(&addr, 0, sizeof(addr));
	addr.svm_family = AF_VSOCK;
	addr.svm_port = port;
	addr.svm_cid = cid;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return fail(res, HB_CONNECT, errno);
	if (one_byte(fd, &b, 1) != 1)
		return fail(res, HB_WRITE, errno);
	n = one_byte(fd, &b, 0);
	if (n < 0)
		return fail(res, HB_READ, errno);
	if (n == 0)
		return fail(res, HB_EOF, 0);
	if (b != HEARTBEAT_BYTE) {
		res->reply = b;
		return fail(res, HB_REPLY, 0);
	}
	return 0;
}

int heartbeat(unsigned cid, unsigned port, struct hb_result *res)
{
	int fd, ret;

	memset(res, 0, sizeof(*res));
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(res, HB_SOCKET, errno);
	ret = exchange(fd, cid, port, res);
	if (close(fd) < 0 && ret == 0)
		return fail(res, HB_CLOSE, errno);
	return ret;
}

const char *hb_step_name(enum hb_step step)
{
	switch (step) {
	case HB_OK: return "ok";
	case HB_SOCKET: return "socket(AF_VSOCK)";
	case HB_CONNECT: return "connect";
	case HB_WRITE: return "write";
	case HB_READ: return "read";
	case HB_EOF: return "read";
	case HB_REPLY: return "reply";
	case HB_CLOSE: return "close";
	}
	return "?";
}
