/* libFuzzer target: the cpio newc reader and the escaping eifkit ls
 * prints names with, on arbitrary bytes; then the same bytes as a tree
 * (cpio_read_tree) and the app checks of verify --deep on it, with the
 * command and workdir taken from the archive's own cmd/workdir entries
 * when it has them (so symlink loops, "..", hard links and ELF headers
 * of the input reach them). Each input goes through a memfd
 * so the reader runs exactly as on a file. Beyond the sanitizers, it
 * traps when a promise of cpio_read.h is broken: a name without its NUL,
 * data outside the input, entries going backwards, or an escaped name
 * holding a control byte or a space. */
#define _GNU_SOURCE 1
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "ramdisk/appcheck.h"
#include "ramdisk/cpio_read.h"
#include "ramdisk/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_escaped(const char *s, size_t len)
{
	struct strbuf sb;

	strbuf_init(&sb);
	text_escape(&sb, s, len, 0);
	for (size_t i = 0; i < sb.len; i++)
		if ((unsigned char)sb.buf[i] <= 0x20 || sb.buf[i] == 0x7f)
			__builtin_trap();
	strbuf_release(&sb);
}

/* The first line of a file in the tree, or def. */
static void first_line(const struct tree *t, const char *name, char *out,
		       size_t cap, const char *def)
{
	const struct tree_entry *e = tree_find(t, name);
	struct ek_error err;
	ssize_t n = e ? tree_entry_pread(e, out, cap - 1, 0, &err) : -1;

	if (n <= 0) {
		snprintf(out, cap, "%s", def);
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static void deep(int fd, size_t size)
{
	struct tree t;
	struct ek_error err;
	const char *compressed;
	char cmd[256], wd[256];
	const char *argv[1] = { cmd }, *env[1] = { "PATH=/bin:bin:" };

	tree_init(&t);
	if (cpio_read_tree(&t, fd, 0, size, "fuzz", "ramdisk", &compressed,
			   &err) == 0 &&
	    tree_finish(&t, 0, &err) == 0) {
		first_line(&t, "cmd", cmd, sizeof(cmd), "/bin/app");
		first_line(&t, "workdir", wd, sizeof(wd), "/");
		for (int arm = 0; arm < 2; arm++) {
			const struct app_check c = {
				.argv = argv, .argc = cmd[0] ? 1 : 0,
				.env = env, .envc = 1, .workdir = wd,
				.arm64 = arm, .root = arm ? "rootfs" : "",
			};

			app_check(&t, &c, &err);
		}
	}
	tree_release(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpio_reader r;
	static struct cpio_entry e;
	struct ek_error err;
	uint64_t last = 0;
	char mode[11];
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || io_write_full(fd, data, size) < 0 ||
	    cpio_reader_init(&r, fd, 0, size, "fuzz", &err) != 0)
		goto out;
	while (cpio_reader_next(&r, &e, &err) == 1) {
		if (strlen(e.name) != e.name_len || e.hdr_offset < last ||
		    e.data_offset > size || e.filesize > size - e.data_offset ||
		    e.link_len > CPIO_LINK_MAX || r.pos > size)
			__builtin_trap();
		last = e.data_offset;
		cpio_mode_string(e.mode, mode);
		check_escaped(e.name, e.name_len);
		check_escaped(e.link, e.link_len);
	}
	deep(fd, size);
out:
	if (fd >= 0)
		close(fd);
	return 0;
}
