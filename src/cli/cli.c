#include "base/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <getopt.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "build.h"
#include "cli.h"

const char *cli_cmd = "";

/* s with control characters as \n, \t or \xHH, cut to fit out. */
static void escape(const char *s, char *out, size_t size)
{
	static const char named[] = "\aa\bb\tt\nn\vv\ff\rr";
	size_t o = 0;

	for (; *s && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;
		const char *n = c && c < 0x20 ? strchr(named, c) : NULL;

		if (n) {
			out[o++] = '\\';
			out[o++] = n[1];
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

/* The message with its control characters escaped, so that a file name
 * or an argument holding a newline cannot break the error's one line. */
int report(const char *cmd, const struct ek_error *err)
{
	char msg[sizeof(err->msg) * 4];

	escape(err->msg, msg, sizeof(msg));
	fprintf(stderr, "eifkit %s: %s\n", cmd, msg);
	return 1;
}

static bool root_user(const char *u)
{
	return !u || !*u || !strcmp(u, "0") || !strcmp(u, "root") ||
	       !strncmp(u, "0:", 2) || !strncmp(u, "root:", 5);
}

void treeopts_warn(const struct treeopts *o, const char *cmd)
{
	char name[sizeof(o->scan.first_socket) * 4];

	escape(o->scan.first_socket, name, sizeof(name));
	if (o->scan.sockets)
		fprintf(stderr, "eifkit %s: warning: skipped %lu socket%s (such "
			"as '%s'): a ramdisk cannot hold them\n", cmd,
			o->scan.sockets, o->scan.sockets > 1 ? "s" : "", name);
	if (o->scan.xattr_files)
		fprintf(stderr, "eifkit %s: warning: dropped the extended "
			"attributes (file capabilities, ACLs, SELinux labels) of "
			"%lu file%s: newc cannot store them\n", cmd,
			o->scan.xattr_files, o->scan.xattr_files > 1 ? "s" : "");
	if (o->have_image && !root_user(o->image.user)) {
		escape(o->image.user, name, sizeof(name));
		fprintf(stderr, "eifkit %s: warning: the image's User is '%s', "
			"but the enclave's init runs the app as root\n",
			cmd, name);
	}
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

int write_json_outfile(struct io_outfile *out, const struct json_value *v,
			struct ek_error *err)
{
	struct strbuf sb;
	int ret;

	strbuf_init(&sb);
	json_write(&sb, v, 0);
	strbuf_addch(&sb, '\n');
	if (!strbuf_ok(&sb))
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
	else if (io_write_full(out->fd, sb.buf, sb.len) < 0)
		ret = ek_fail_errno(err, EK_EIO, errno, "'%s'", out->path);
	else
		ret = io_outfile_commit(out, err);
	if (ret)
		io_outfile_abort(out);
	strbuf_release(&sb);
	return ret;
}

int write_json_file(const char *path, const struct json_value *v,
		    struct ek_error *err)
{
	struct io_outfile out;
	int ret = io_outfile_open(&out, path, err);

	return ret ? ret : write_json_outfile(&out, v, err);
}

int option_error(const char *cmd, const char *usage, int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		return usage_error(cmd, usage, "option '%s' needs a value", opt);
	return usage_error(cmd, usage, "unknown option '%s'", opt);
}
