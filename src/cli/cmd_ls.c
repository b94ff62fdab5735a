/* cmd_ls.c: list the entries of an EIF's ramdisks, or of a cpio file,
 * one line per entry, the same bytes on every machine and in every time
 * zone, with names escaped so a crafted archive cannot drive the
 * terminal. */
#include "base/internal.h"

#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "cli.h"
#include "eif/eif.h"
#include "base/text.h"
#include "ramdisk/cpio_read.h"

static const char usage[] = "usage: eifkit ls FILE.eif|FILE.cpio\n";
static const char help[] =
	"usage: eifkit ls FILE.eif|FILE.cpio\n"
	"\n"
	"List the entries of every ramdisk of an EIF, in section order, each\n"
	"under a line \"ramdisk N (SIZE bytes):\", or of a file of cpio newc\n"
	"archives. One line per entry:\n"
	"\n"
	"  MODE  UID/GID  SIZE  YYYY-MM-DD HH:MM:SS  NAME\n"
	"\n"
	"SIZE is MAJOR,MINOR for devices. Symlinks end with \" -> TARGET\", and\n"
	"entries the kernel hard-links (nlink >= 2) with\n"
	"\"  [hard link: ino N, dev MAJOR,MINOR, N links]\". Times are UTC.\n"
	"Names and targets are escaped so that they hold no space or control\n"
	"character: \\\\ for a backslash, \\n \\t and the like, and \\xHH for a\n"
	"space, other control bytes and bytes that are not valid UTF-8.\n"
	"Compressed ramdisks are named, not listed. A malformed archive stops\n"
	"the listing with an error (exit status 1).\n"
	"\n"
	"  -h, --help   this help\n";

static uint32_t year_days(uint32_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 366 : 365;
}

static uint32_t month_days(uint32_t m, uint32_t y)
{
	static const uint8_t mdays[12] = { 31, 28, 31, 30, 31, 30,
					   31, 31, 30, 31, 30, 31 };

	return mdays[m] + (m == 1 && year_days(y) == 366 ? 1u : 0u);
}

/* "YYYY-MM-DD HH:MM:SS" in UTC, by arithmetic: gmtime would need a
 * 64-bit time_t for mtimes after 2038, and no time zone may reach it.
 * An unsigned 32-bit mtime ends in 2106: at most 136 years to step. */
static void utc_string(uint32_t t, char *out, size_t cap)
{
	uint32_t days = t / 86400, secs = t % 86400, y = 1970, m = 0;

	while (days >= year_days(y))
		days -= year_days(y++);
	while (days >= month_days(m, y))
		days -= month_days(m++, y);
	snprintf(out, cap, "%04u-%02u-%02u %02u:%02u:%02u", y, m + 1, days + 1,
		 secs / 3600, secs / 60 % 60, secs % 60);
}

/* The kernel links entries of any type but directories and symlinks
 * when nlink >= 2 (init/initramfs.c maybe_link). */
static bool is_hard_link(const struct cpio_entry *e)
{
	uint32_t t = e->mode & CPIO_IFMT;

	return e->nlink >= 2 && t != CPIO_IFDIR && t != CPIO_IFLNK;
}

static void format_entry(struct strbuf *sb, const struct cpio_entry *e)
{
	char mode[11], owner[24], size[24], when[48];
	uint32_t t = e->mode & CPIO_IFMT;

	cpio_mode_string(e->mode, mode);
	snprintf(owner, sizeof(owner), "%u/%u", e->uid, e->gid);
	if (t == CPIO_IFCHR || t == CPIO_IFBLK)
		snprintf(size, sizeof(size), "%u,%u", e->rdevmajor, e->rdevminor);
	else
		snprintf(size, sizeof(size), "%u", e->filesize);
	utc_string(e->mtime, when, sizeof(when));
	strbuf_addf(sb, "%s  %-9s  %10s  %s  ", mode, owner, size, when);
	text_escape(sb, e->name, e->name_len, 0);
	if (t == CPIO_IFLNK) {
		strbuf_addstr(sb, " -> ");
		text_escape(sb, e->link, e->link_len, 0);
	}
	if (is_hard_link(e))
		strbuf_addf(sb, "  [hard link: ino %u, dev %u,%u, %u links]",
			    e->ino, e->devmajor, e->devminor, e->nlink);
	strbuf_addch(sb, '\n');
}

static int print_entry(const struct cpio_entry *e, struct ek_error *err)
{
	struct strbuf sb;
	int ret = 0;

	strbuf_init(&sb);
	format_entry(&sb, e);
	if (!strbuf_ok(&sb))
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
	else if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len)
		ret = ek_fail_errno(err, EK_EIO, errno, "stdout");
	strbuf_release(&sb);
	return ret;
}

/* Print e (when ret is 1) and the entries after it. A line marks each
 * archive after the first, since the kernel's hard-link table starts
 * again there, and a last line says where compressed data starts. */
static int print_rest(struct cpio_reader *r, struct cpio_entry *e, int ret,
		      struct ek_error *err)
{
	unsigned archive = 0;

	while (ret == 1) {
		if (e->archive != archive) {
			archive = e->archive;
			printf("archive %u at offset %llu:\n", archive,
			       (unsigned long long)e->hdr_offset);
		}
		ret = print_entry(e, err);
		if (!ret)
			ret = cpio_reader_next(r, e, err);
	}
	if (ret == 0 && r->compressed)
		printf("compressed (%s) from offset %llu, cannot list\n",
		       r->compressed, (unsigned long long)r->compressed_offset);
	return ret;
}

/* One ramdisk section: a header line, then its entries. A ramdisk that
 * is compressed from its first byte gets one line. */
static int list_ramdisk(int fd, const char *path, unsigned n,
			const struct eif_section *s, struct cpio_entry *e,
			struct cpio_reader *r, struct ek_error *err)
{
	char what[32];
	int ret = cpio_reader_init(r, fd, s->offset + EIF_SEC_HDR_SIZE, s->size,
				   path, err);

	snprintf(what, sizeof(what), "ramdisk %u", n);
	r->what = what;
	if (!ret)
		ret = cpio_reader_next(r, e, err);
	if (ret == 0 && r->compressed && r->compressed_offset == r->start) {
		printf("ramdisk %u (%llu bytes): compressed (%s), cannot list\n",
		       n, (unsigned long long)s->size, r->compressed);
	} else {
		printf("ramdisk %u (%llu bytes):\n", n,
		       (unsigned long long)s->size);
		if (ret >= 0)
			ret = print_rest(r, e, ret, err);
	}
	r->what = NULL; /* what is about to go out of scope */
	return ret;
}

static int list_eif(int fd, const char *path, struct cpio_entry *e,
		    struct cpio_reader *r, struct ek_error *err)
{
	struct eif_image img;
	unsigned n = 0;
	int ret = eif_read_fd(fd, path, &img, EIF_READ_NOHASH, err);

	for (unsigned i = 0; !ret && i < img.nsec; i++)
		if (img.sec[i].type == EIF_SEC_RAMDISK)
			ret = list_ramdisk(fd, path, n++, &img.sec[i], e, r, err);
	eif_image_release(&img); /* fd stays open: it is not img's */
	return ret;
}

static int list_cpio(int fd, const char *path, uint64_t size,
		     struct cpio_entry *e, struct cpio_reader *r,
		     struct ek_error *err)
{
	int ret = cpio_reader_init(r, fd, 0, size, path, err);

	if (!ret)
		ret = cpio_reader_next(r, e, err);
	if (ret == 0 && r->compressed && r->compressed_offset == 0)
		return ek_fail(err, EK_EFORMAT, "'%s': compressed (%s), cannot "
			       "list (decompress it first)", path, r->compressed);
	return ret < 0 ? ret : print_rest(r, e, ret, err);
}

static int list_file(const char *path, struct ek_error *err)
{
	/* static: both hold a 4 KiB name or a 64 KiB buffer */
	static struct cpio_entry e;
	static struct cpio_reader r;
	uint8_t magic[4];
	uint64_t size;
	ssize_t got;
	int ret, fd = io_open_input(path, 0, &size, err);

	if (fd < 0)
		return fd;
	if (size == UINT64_MAX) {
		close(fd);
		return ek_fail(err, EK_EINVAL, "'%s': not a regular file", path);
	}
	got = io_pread_full(fd, magic, sizeof(magic), 0);
	if (got < 0)
		ret = ek_fail_errno(err, EK_EIO, errno, "'%s'", path);
	else if (got == (ssize_t)sizeof(magic) && !memcmp(magic, EIF_MAGIC, 4))
		ret = list_eif(fd, path, &e, &r, err);
	else
		ret = list_cpio(fd, path, size, &e, &r, err);
	close(fd);
	return ret;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ek_error err;
	int c;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h')
			return print_help(help);
		return option_error("ls", usage, c, argv);
	}
	if (argc - optind != 1)
		return usage_error("ls", usage, "give one EIF or cpio file");
	if (list_file(argv[optind], &err)) {
		fflush(stdout); /* what was listed, before the error */
		return report("ls", &err);
	}
	return 0;
}
