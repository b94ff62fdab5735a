#include "base/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <getopt.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "cli.h"

/* The message with its control characters escaped, so that a file name
 * or an argument holding a newline cannot break the error's one line. */
int report(const char *cmd, const struct ek_error *err)
{
	char msg[sizeof(err->msg) * 4];

	text_escape_fixed(msg, sizeof(msg), err->msg, strlen(err->msg),
			  TEXT_KEEP_SPACES | TEXT_KEEP_BACKSLASH);
	fprintf(stderr, "eifkit %s: %s\n", cmd, msg);
	return 1;
}

void print_text(const char *s, size_t len)
{
	struct strbuf sb;

	strbuf_init(&sb);
	text_escape(&sb, s, len, TEXT_KEEP_SPACES);
	fputs(strbuf_ok(&sb) ? sb.buf : "(out of memory)", stdout);
	strbuf_release(&sb);
}

void cli_warn(const char *cmd, const char *fmt, ...)
{
	char msg[1024], out[sizeof(msg) * 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	text_escape_fixed(out, sizeof(out), msg, strlen(msg),
			  TEXT_KEEP_SPACES | TEXT_KEEP_BACKSLASH);
	fprintf(stderr, "eifkit %s: warning: %s\n", cmd, out);
}

int usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eifkit %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	fprintf(stderr, "Try 'eifkit %s --help' for more.\n", cmd);
	return 2;
}

int print_help(const char *help)
{
	fputs(help, stdout);
	return 0;
}

static int push_hex(struct json_value *o, const char *key, const uint8_t *pcr)
{
	char hex[PCR_HEX_LEN + 1];

	pcr_hex(pcr, hex);
	return json_object_push(o, key, json_new_string(hex));
}

struct json_value *measurements_json(const uint8_t pcr[3][PCR_LEN],
				     const uint8_t *pcr8)
{
	struct json_value *o = json_new_object();

	if (!o || json_object_push(o, "HashAlgorithm",
				   json_new_string(HASH_ALGORITHM)) ||
	    push_hex(o, "PCR0", pcr[0]) || push_hex(o, "PCR1", pcr[1]) ||
	    push_hex(o, "PCR2", pcr[2]) || (pcr8 && push_hex(o, "PCR8", pcr8))) {
		json_free(o);
		return NULL;
	}
	return o;
}

int print_json(const struct json_value *v)
{
	struct strbuf sb;
	int ret = 0;

	strbuf_init(&sb);
	json_write(&sb, v, 0);
	strbuf_addch(&sb, '\n');
	if (!strbuf_ok(&sb))
		ret = EK_ENOMEM;
	else if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len)
		ret = EK_EIO;
	strbuf_release(&sb);
	return ret;
}

int write_json_fd(int fd, const char *name, const struct json_value *v,
		  struct ek_error *err)
{
	struct strbuf sb;
	int ret = 0;

	strbuf_init(&sb);
	json_write(&sb, v, 0);
	strbuf_addch(&sb, '\n');
	if (!strbuf_ok(&sb))
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
	else if (io_write_full(fd, sb.buf, sb.len) < 0)
		ret = ek_fail_errno(err, EK_EIO, errno, "'%s'", name);
	strbuf_release(&sb);
	return ret;
}

int cli_check_outputs(const char *const *outs, size_t nouts,
		      const struct cli_input *ins, size_t nins,
		      struct ek_error *err)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < nouts; i++) {
		if (!outs[i])
			continue;
		r = io_check_output(outs[i], err);
		for (size_t k = 0; r == 0 && k < nins; k++)
			r = io_check_not_input(outs[i], ins[k].path, ins[k].what,
					       err);
		for (size_t k = 0; r == 0 && k < i; k++)
			if (outs[k] && (io_same_path(outs[i], outs[k]) ||
					io_check_not_input(outs[i], outs[k], "",
							   err)))
				r = ek_fail(err, EK_EINVAL, "'%s' and '%s': "
					    "two outputs in one file", outs[k],
					    outs[i]);
	}
	return r;
}

int option_error(const char *cmd, const char *usage, int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return usage_error(cmd, usage, "option '%s' needs a value", opt);
	return usage_error(cmd, usage, "unknown option '%s'", opt);
}
