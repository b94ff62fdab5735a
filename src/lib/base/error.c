#include "base/internal.h"

#include <stdarg.h>
#include <stdio.h>

#include <openssl/err.h>

static void vfill(struct ek_error *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void vfill(struct ek_error *err, int code, const char *fmt, va_list ap)
{
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int ek_fail(struct ek_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vfill(err, code, fmt, ap);
	va_end(ap);
	return code;
}

static void append(struct ek_error *err, const char *s)
{
	size_t n = strlen(err->msg);

	if (n < sizeof(err->msg) - 1)
		snprintf(err->msg + n, sizeof(err->msg) - n, "%s", s);
}

int ek_fail_errno(struct ek_error *err, int code, int errnum, const char *fmt,
		  ...)
{
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	vfill(err, code, fmt, ap);
	va_end(ap);
	append(err, ": ");
	append(err, strerror(errnum));
	return code;
}

int ek_fail_ssl(struct ek_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	char buf[256];
	int first = 1;

	if (err) {
		va_start(ap, fmt);
		vfill(err, code, fmt, ap);
		va_end(ap);
	}
	while ((e = ERR_get_error()) != 0) {
		if (!err || !first)
			continue; /* drain the rest */
		ERR_error_string_n(e, buf, sizeof(buf));
		append(err, ": ");
		append(err, ERR_reason_error_string(e) ? ERR_reason_error_string(e) : buf);
		first = 0;
	}
	return code;
}

void ek_error_prefix(struct ek_error *err, const char *fmt, ...)
{
	char pre[EK_MSG_MAX], old[EK_MSG_MAX];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	err->msg[0] = '\0';
	append(err, pre);
	append(err, ": ");
	append(err, old);
}
