/* error.h: the library's error codes and the struct that carries details.
 *
 * Library functions return 0 on success or a negative enum ek_code, and
 * describe the failure in a caller-provided struct ek_error. Nothing in
 * the library prints or exits; the CLI prints err->msg on one line. */
#ifndef EIFKIT_LIB_ERROR_H
#define EIFKIT_LIB_ERROR_H

enum ek_code {
	EK_OK = 0,
	EK_EIO = -1,       /* a system call failed (errno in the message) */
	EK_EFORMAT = -2,   /* input bytes are not what the format allows */
	EK_EUNSAFE = -3,   /* input tried to leave its confinement */
	EK_ECRYPTO = -4,   /* key, certificate or signature problem */
	EK_EMISMATCH = -5, /* a check compared two values and they differ */
	EK_ENOMEM = -6,    /* allocation failed */
	EK_EINVAL = -7,    /* bad argument value */
	EK_ELIMIT = -8,    /* a format limit would be exceeded */
};

#define EK_MSG_MAX 1024

struct ek_error {
	int code;
	char msg[EK_MSG_MAX];
};

/* Fill err (may be NULL) and return code. */
int ek_fail(struct ek_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As ek_fail, then append ": strerror(errnum)". */
int ek_fail_errno(struct ek_error *err, int code, int errnum, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));
/* As ek_fail, then append the OpenSSL error queue (drained) if any. */
int ek_fail_ssl(struct ek_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepend "prefix: " to an existing message (e.g. a file name). */
void ek_error_prefix(struct ek_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
