/* libFuzzer target: the cpio newc reader and the escaping eifkit ls
 * prints names with, on arbitrary bytes. Each input goes through a memfd
 * so the reader runs exactly as on a file. Beyond the sanitizers, it
 * traps when a promise of cpio_read.h is broken: a name without its NUL,
 * data outside the input, entries going backwards, or an escaped name
 * holding a control byte or a space. */
#define _GNU_SOURCE 1
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "ramdisk/cpio_read.h"

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
out:
	if (fd >= 0)
		close(fd);
	return 0;
}
