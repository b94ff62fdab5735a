/* heartbeat.h: the "enclave ready" handshake (AWS-BUILD-AND-INIT.md 2.2
 * step 5, 2.5): connect to vsock CID 3 port 9000, send 0xB7, read the
 * same byte back. Shared by init and init/test_heartbeat.c. */
#ifndef EIFKIT_INIT_HEARTBEAT_H
#define EIFKIT_INIT_HEARTBEAT_H

#define HEARTBEAT_CID 3      /* VMADDR_CID_PARENT: the parent instance */
#define HEARTBEAT_PORT 9000
#define HEARTBEAT_BYTE 0xB7

enum hb_step {
	HB_OK,
	HB_SOCKET,   /* socket(AF_VSOCK) failed: err */
	HB_CONNECT,  /* connect failed: err */
	HB_WRITE,    /* write failed: err */
	HB_READ,     /* read failed: err */
	HB_EOF,      /* the parent closed without replying */
	HB_REPLY,    /* the reply was not HEARTBEAT_BYTE: reply */
	HB_CLOSE,    /* close failed: err */
};

struct hb_result {
	enum hb_step step;
	int err;               /* errno of the failed call */
	unsigned char reply;   /* the byte read, for HB_REPLY */
};

/* Returns 0, or -1 with res saying which step failed. No timeout, as in
 * AWS's init: the parent gives up (and ends the enclave) by itself. */
int heartbeat(unsigned cid, unsigned port, struct hb_result *res);

/* "socket(AF_VSOCK)", "connect", ...: the step, for messages. */
const char *hb_step_name(enum hb_step step);

#endif
