/* Unit tests for the cpio newc reader: archives are built here byte by
 * byte (so each test says exactly what is in them), then broken on
 * purpose, one rule at a time. */
#include "base/internal.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "base/text.h"
#include "ramdisk/cpio_read.h"
#include "unit.h"

/* ---- building archives ---- */

struct ent {
	const char *name;
	uint32_t mode;
	const char *data;  /* NULL: no data */
	size_t dlen;       /* 0 with data: strlen(data) */
	uint32_t nlink, ino, rmaj, rmin;
	bool crc;          /* 070702 with the right checksum */
	bool upper;        /* uppercase hex digits */
};

static void put_field(struct strbuf *sb, uint32_t v, bool upper)
{
	strbuf_addf(sb, upper ? "%08X" : "%08x", v);
}

/* One entry, aligned as a writer would from the start of sb. */
static void put(struct strbuf *sb, const struct ent *e)
{
	size_t dlen = e->data ? (e->dlen ? e->dlen : strlen(e->data)) : 0;
	uint32_t sum = 0;
	uint32_t f[13];

	for (size_t i = 0; i < dlen; i++)
		sum += (uint8_t)e->data[i];
	f[0] = e->ino, f[1] = e->mode, f[2] = 0, f[3] = 0;
	f[4] = e->nlink ? e->nlink : 1, f[5] = 1492533000;
	f[6] = (uint32_t)dlen, f[7] = 3, f[8] = 1, f[9] = e->rmaj;
	f[10] = e->rmin, f[11] = (uint32_t)strlen(e->name) + 1;
	f[12] = e->crc ? sum : 0;
	strbuf_addstr(sb, e->crc ? "070702" : "070701");
	for (int i = 0; i < 13; i++)
		put_field(sb, f[i], e->upper);
	strbuf_add(sb, e->name, strlen(e->name) + 1);
	while (sb->len % 4)
		strbuf_addch(sb, '\0');
	strbuf_add(sb, e->data ? e->data : "", dlen);
	while (sb->len % 4)
		strbuf_addch(sb, '\0');
}

static void put_trailer(struct strbuf *sb, bool pad512)
{
	put(sb, &(struct ent){ .name = "TRAILER!!!" });
	while (pad512 && sb->len % 512)
		strbuf_addch(sb, '\0');
}

/* dir d at 0, file d/f "hello" at 112 (data 228), symlink l -> d/f at
 * 236, trailer at 352, zeros to 512. */
static void base(struct strbuf *sb, bool upper)
{
	put(sb, &(struct ent){ "d", 040755, NULL, 0, 2, 721, 0, 0, false, upper });
	put(sb, &(struct ent){ "d/f", 0100644, "hello", 0, 1, 722, 0, 0, false,
			       upper });
	put(sb, &(struct ent){ "l", 0120777, "d/f", 0, 1, 723, 0, 0, false, upper });
	put_trailer(sb, true);
}

/* ---- reading them ---- */

#define MAXE 8
static struct cpio_entry got[MAXE];

static int memfd_of(const void *p, size_t len)
{
	int fd = memfd_create("cpio", MFD_CLOEXEC);

	if (fd >= 0 && io_write_full(fd, p, len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Read [off, off + len) of a file holding buf; entries into got[]. The
 * result of the last call (0 or an error); *n entries. */
static int walk_range(const void *buf, size_t size, uint64_t off,
		      uint64_t len, int *n, struct cpio_reader *r,
		      struct ek_error *err)
{
	int fd = memfd_of(buf, size), ret;

	*n = 0;
	if (fd < 0)
		return EK_EIO;
	ret = cpio_reader_init(r, fd, off, len, "t.cpio", err);
	while (ret == 0) {
		struct cpio_entry scratch;

		ret = cpio_reader_next(r, *n < MAXE ? &got[*n] : &scratch, err);
		if (ret != 1)
			break;
		(*n)++;
		ret = 0;
	}
	close(fd);
	return ret;
}

static struct cpio_reader rd;

static int walk(const struct strbuf *sb, int *n, struct ek_error *err)
{
	return walk_range(sb->buf, sb->len, 0, sb->len, n, &rd, err);
}

TEST(base_archive)
{
	struct strbuf sb;
	struct ek_error err;
	int n;

	strbuf_init(&sb);
	base(&sb, false);
	CHECK(sb.len == 512);
	CHECK(walk(&sb, &n, &err) == 0);
	CHECK(n == 3);
	CHECK_STR(got[0].name, "d");
	CHECK(got[0].mode == 040755 && got[0].nlink == 2 && got[0].ino == 721);
	CHECK(got[0].mtime == 1492533000 && got[0].devmajor == 3 &&
	      got[0].devminor == 1 && !got[0].csum);
	CHECK_STR(got[1].name, "d/f");
	CHECK(got[1].filesize == 5 && got[1].hdr_offset == 112 &&
	      got[1].data_offset == 228 && got[1].name_len == 3);
	CHECK(!memcmp(sb.buf + got[1].data_offset, "hello", 5));
	CHECK_STR(got[2].name, "l");
	CHECK_STR(got[2].link, "d/f");
	CHECK(got[2].link_len == 3 && got[2].hdr_offset == 236);
	CHECK(got[2].archive == 0 && rd.trailers == 1 && !rd.compressed);
	strbuf_release(&sb);
}

TEST(uppercase_hex_reads_the_same)
{
	struct strbuf lo, up;
	struct ek_error err;
	struct cpio_entry first[3];
	int n;

	strbuf_init(&lo);
	strbuf_init(&up);
	base(&lo, false);
	base(&up, true);
	CHECK(memcmp(lo.buf, up.buf, lo.len) != 0); /* 41ed vs 41ED */
	CHECK(walk(&lo, &n, &err) == 0 && n == 3);
	memcpy(first, got, sizeof(first));
	CHECK(walk(&up, &n, &err) == 0 && n == 3);
	for (int i = 0; i < 3; i++) {
		CHECK_STR(got[i].name, first[i].name);
		CHECK(got[i].mode == first[i].mode && got[i].ino == first[i].ino);
	}
	strbuf_release(&lo);
	strbuf_release(&up);
}

TEST(crc_format)
{
	struct strbuf sb;
	struct ek_error err;
	int n;

	strbuf_init(&sb);
	put(&sb, &(struct ent){ .name = "f", .mode = 0100600, .data = "\xff\xfe",
				.crc = true });
	put(&sb, &(struct ent){ .name = "d", .mode = 040700, .crc = true });
	put_trailer(&sb, true);
	CHECK(walk(&sb, &n, &err) == 0 && n == 2);
	CHECK(got[0].csum && got[0].check == 0x1fd);
	/* one data byte changed: the sum no longer matches */
	sb.buf[112] = 0x01;
	CHECK(walk(&sb, &n, &err) == EK_EFORMAT && n == 0);
	CHECK_STR(err.msg, "'t.cpio': offset 0: 'f': data checksum 0x000000ff, "
		  "the header says 0x000001fd");
	strbuf_release(&sb);
}

/* Checksums over more than one buffer of data. */
TEST(crc_large_file)
{
	static char data[200003];
	struct strbuf sb;
	struct ek_error err;
	int n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 1);
	strbuf_init(&sb);
	put(&sb, &(struct ent){ .name = "big", .mode = 0100644, .data = data,
				.dlen = sizeof(data), .crc = true });
	put_trailer(&sb, false);
	CHECK(walk(&sb, &n, &err) == 0 && n == 1);
	CHECK(got[0].filesize == sizeof(data));
	sb.buf[120 + 150000] ^= 1;
	CHECK(walk(&sb, &n, &err) == EK_EFORMAT);
	CHECK(strstr(err.msg, "data checksum") != NULL);
	strbuf_release(&sb);
}

TEST(concatenated_archives_and_nul_padding)
{
	struct strbuf sb;
	struct ek_error err;
	int n;

	strbuf_init(&sb);
	base(&sb, false);
	strbuf_add(&sb, "\0\0\0\0\0\0\0\0\0\0\0\0", 12); /* any multiple of 4 */
	base(&sb, true);
	strbuf_add(&sb, "\0\0\0", 3);                    /* tail: any length */
	CHECK(walk(&sb, &n, &err) == 0);
	CHECK(n == 6);
	CHECK(got[2].archive == 0 && got[3].archive == 1 && got[5].archive == 1);
	CHECK(got[3].hdr_offset == 524 && rd.trailers == 2);
	strbuf_release(&sb);
}

TEST(nul_runs_between_entries_and_no_trailer)
{
	struct strbuf sb;
	struct ek_error err;
	int n;

	strbuf_init(&sb);
	put(&sb, &(struct ent){ .name = "a", .mode = 0100644, .data = "x" });
	strbuf_add(&sb, "\0\0\0\0", 4);
	put(&sb, &(struct ent){ .name = "b", .mode = 010644 });
	CHECK(walk(&sb, &n, &err) == 0 && n == 2);
	CHECK(got[1].archive == 0 && rd.trailers == 0);
	CHECK_STR(got[1].name, "b");
	strbuf_release(&sb);
}

TEST(empty_and_all_nul_ranges)
{
	struct ek_error err;
	int n;

	CHECK(walk_range("", 0, 0, 0, &n, &rd, &err) == 0 && n == 0);
	CHECK(walk_range("\0\0\0\0\0", 5, 0, 5, &n, &rd, &err) == 0 && n == 0);
}

/* A range inside a larger file: alignment counts from its start, and the
 * bytes around it are not read. */
TEST(range_in_a_larger_file)
{
	struct strbuf a, f;
	struct ek_error err;
	int n;

	strbuf_init(&a);
	strbuf_init(&f);
	base(&a, false);
	strbuf_add(&f, "junk!", 5);
	strbuf_add(&f, a.buf, a.len);
	strbuf_add(&f, "more junk", 9);
	CHECK(walk_range(f.buf, f.len, 5, a.len, &n, &rd, &err) == 0 && n == 3);
	CHECK(got[1].data_offset == 5 + 228);
	CHECK(!memcmp(f.buf + got[1].data_offset, "hello", 5));
	CHECK(walk_range(f.buf, f.len, 5, a.len + 1, &n, &rd, &err) ==
	      EK_EFORMAT);
	CHECK_STR(err.msg, "'t.cpio': offset 517: junk where a cpio header, "
		  "NUL padding or compressed data should be");
	strbuf_release(&a);
	strbuf_release(&f);
}

TEST(symlink_target_with_trailing_nul)
{
	struct strbuf sb;
	struct ek_error err;
	int n;

	strbuf_init(&sb);
	/* gen_init_cpio counts the NUL; a NUL inside stays visible */
	put(&sb, &(struct ent){ .name = "l", .mode = 0120777, .data = "/x\0",
				.dlen = 3 });
	put(&sb, &(struct ent){ .name = "m", .mode = 0120777, .data = "a\0b",
				.dlen = 3 });
	put(&sb, &(struct ent){ .name = "e", .mode = 0120777 });
	CHECK(walk(&sb, &n, &err) == 0 && n == 3);
	CHECK(got[0].link_len == 2 && !strcmp(got[0].link, "/x"));
	CHECK(got[1].link_len == 3 && !memcmp(got[1].link, "a\0b", 4));
	CHECK(got[2].link_len == 0 && got[2].link[0] == '\0');
	strbuf_release(&sb);
}

TEST(name_and_link_limits)
{
	static char name[CPIO_NAME_MAX + 1], target[CPIO_LINK_MAX + 2];
	struct strbuf sb;
	struct ek_error err;
	int n;

	memset(name, 'n', CPIO_NAME_MAX - 1);     /* namesize 4096: fine */
	memset(target, 't', CPIO_LINK_MAX);       /* 4096 bytes: fine */
	strbuf_init(&sb);
	put(&sb, &(struct ent){ .name = name, .mode = 0120777, .data = target });
	CHECK(walk(&sb, &n, &err) == 0 && n == 1);
	CHECK(got[0].name_len == CPIO_NAME_MAX - 1);
	CHECK(got[0].link_len == CPIO_LINK_MAX);
	strbuf_release(&sb);

	name[CPIO_NAME_MAX - 1] = 'n';            /* namesize 4097 */
	put(&sb, &(struct ent){ .name = name, .mode = 0100644 });
	CHECK(walk(&sb, &n, &err) == EK_EFORMAT);
	CHECK_STR(err.msg, "'t.cpio': offset 0: namesize 4097 is over 4096 "
		  "(the kernel skips such entries)");
	strbuf_release(&sb);

	target[CPIO_LINK_MAX] = 't';              /* 4097 bytes */
	put(&sb, &(struct ent){ .name = "l", .mode = 0120777, .data = target });
	CHECK(walk(&sb, &n, &err) == EK_EFORMAT);
	CHECK_STR(err.msg, "'t.cpio': offset 0: 'l': symlink target of 4097 "
		  "bytes (the kernel skips over 4096)");
	strbuf_release(&sb);
}

TEST(every_file_type)
{
	static const uint32_t modes[] = { 0100644, 040755, 0120777, 020600,
					  060660, 010644, 0140755 };
	struct strbuf sb;
	struct ek_error err;
	int n;

	strbuf_init(&sb);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		put(&sb, &(struct ent){ .name = "x", .mode = modes[i],
					.rmaj = 5, .rmin = 1 });
	put_trailer(&sb, true);
	CHECK(walk(&sb, &n, &err) == 0 && n == MAXE - 1);
	for (int i = 0; i < n; i++)
		CHECK(got[i].mode == modes[i] && got[i].rdevmajor == 5 &&
		      got[i].rdevminor == 1);
	strbuf_release(&sb);
}

TEST(compressed_data_after_an_archive)
{
	struct strbuf sb;
	struct ek_error err;
	int n;

	strbuf_init(&sb);
	base(&sb, false);
	strbuf_add(&sb, "\0\0\x28\xb5\x2f\xfd", 6); /* any offset, like the kernel */
	CHECK(walk(&sb, &n, &err) == 0 && n == 3);
	CHECK(rd.compressed && !strcmp(rd.compressed, "zstd"));
	CHECK(rd.compressed_offset == 514);
	CHECK(walk_range("\x1f\x8b\x08", 3, 0, 3, &n, &rd, &err) == 0 && n == 0);
	CHECK(rd.compressed && !strcmp(rd.compressed, "gzip"));
	CHECK(rd.compressed_offset == 0);
	strbuf_release(&sb);
}

TEST(error_is_sticky)
{
	struct strbuf sb;
	struct ek_error err;
	struct cpio_entry e;
	int n;

	strbuf_init(&sb);
	base(&sb, false);
	sb.buf[0] = 'X';
	rd.what = NULL;
	CHECK(walk(&sb, &n, &err) == EK_EFORMAT);
	CHECK(cpio_reader_next(&rd, &e, &err) == EK_EFORMAT);
	CHECK(strstr(err.msg, "earlier error") != NULL);
	strbuf_release(&sb);
}

TEST(bad_range)
{
	struct cpio_reader r;
	struct cpio_entry e;
	struct ek_error err;

	CHECK(cpio_reader_init(&r, 0, UINT64_MAX, 1, "x", &err) == EK_EINVAL);
	CHECK(cpio_reader_next(&r, &e, &err) == EK_EINVAL);
	CHECK(cpio_reader_init(&r, 0, 1, INT64_MAX, "x", &err) == EK_EINVAL);
	CHECK(cpio_reader_init(&r, 0, 0, INT64_MAX, "x", &err) == 0);
}

TEST(message_names_the_part)
{
	struct ek_error err;
	int fd = memfd_of("XYZ", 3);

	CHECK(cpio_reader_init(&rd, fd, 0, 3, "app.eif", &err) == 0);
	rd.what = "ramdisk 1";
	CHECK(cpio_reader_next(&rd, &got[0], &err) == EK_EFORMAT);
	CHECK_STR(err.msg, "'app.eif': ramdisk 1: offset 0: not a cpio newc "
		  "archive, nor compressed data the kernel knows");
	close(fd);
}

/* ---- malformations of the base archive, one per row ---- */

struct breakage {
	const char *what;
	size_t at;          /* patch offset */
	const char *bytes;  /* patch bytes (NULL: none) */
	size_t blen;        /* 0: strlen(bytes) */
	size_t cut;         /* keep only this many bytes (0: all) */
	const char *msg;    /* the whole message */
};

#define FIELD(entry, i) ((entry) + 6 + 8 * (i))

static const struct breakage breakages[] = {
	{ "bad magic", 0, "07070X", 0, 0,
	  "'t.cpio': offset 0: bad magic \"07070X\" (a newc header starts "
	  "with 070701 or 070702)" },
	{ "magic with control bytes", 0, "0\x1b[2J\n", 0, 0,
	  "'t.cpio': offset 0: bad magic \"0\\x1b[2J\\n\" (a newc header "
	  "starts with 070701 or 070702)" },
	{ "odc", 0, "070707", 0, 0,
	  "'t.cpio': offset 0: old portable cpio format (070707); the kernel "
	  "reads only newc (cpio -H newc)" },
	{ "not hex", FIELD(0, 1), "0000g1ed", 0, 0,
	  "'t.cpio': offset 14: mode field \"0000g1ed\" is not 8 hex digits" },
	{ "space in a field", FIELD(112, 6), " 0000005", 0, 0,
	  "'t.cpio': offset 166: filesize field \"\\x200000005\" is not 8 hex "
	  "digits" },
	{ "0x prefix", FIELD(112, 12), "0x000000", 0, 0,
	  "'t.cpio': offset 214: check field \"0x000000\" is not 8 hex digits" },
	{ "mode above 16 bits", FIELD(0, 1), "000141ed", 0, 0,
	  "'t.cpio': offset 0: mode 0240755 has bits above 0177777" },
	{ "unknown type", FIELD(0, 1), "0000f1ed", 0, 0,
	  "'t.cpio': offset 0: 'd': unknown file type in mode 0170755" },
	{ "mode 0", FIELD(0, 1), "00000000", 0, 0,
	  "'t.cpio': offset 0: 'd': unknown file type in mode 0000000" },
	{ "namesize 0", FIELD(0, 11), "00000000", 0, 0,
	  "'t.cpio': offset 0: namesize 0 (it counts the name's NUL)" },
	{ "namesize huge", FIELD(0, 11), "ffffffff", 0, 0,
	  "'t.cpio': offset 0: namesize 4294967295 is over 4096 (the kernel "
	  "skips such entries)" },
	{ "name without NUL", FIELD(112, 11), "00000003", 0, 0,
	  "'t.cpio': offset 224: the name (namesize 3) does not end with a NUL" },
	{ "NUL inside the name", 112 + 110 + 1, "\0", 1, 0,
	  "'t.cpio': offset 223: NUL inside the name (namesize 4)" },
	{ "name padding", 112 + 114 + 1, "\x01", 0, 0,
	  "'t.cpio': offset 227: padding byte after the name is not NUL" },
	{ "data padding", 228 + 5 + 2, "Z", 0, 0,
	  "'t.cpio': offset 235: padding byte after the data is not NUL" },
	{ "filesize past the end", FIELD(112, 6), "00001000", 0, 0,
	  "'t.cpio': offset 112: 4096 bytes of data run past the end (284 "
	  "bytes left)" },
	{ "filesize max", FIELD(112, 6), "FFFFFFFF", 0, 0,
	  "'t.cpio': offset 112: 4294967295 bytes of data run past the end "
	  "(284 bytes left)" },
	{ "directory with data", FIELD(0, 6), "00000004", 0, 0,
	  "'t.cpio': offset 0: 'd': a directory with 4 bytes of data (the "
	  "kernel skips such entries)" },
	{ "trailer with data", FIELD(352, 6), "00000004", 0, 0,
	  "'t.cpio': offset 352: TRAILER!!! with 4 bytes of data" },
	{ "junk after the trailer", 480, "x", 0, 0,
	  "'t.cpio': offset 480: junk where a cpio header, NUL padding or "
	  "compressed data should be" },
	{ "header not aligned", 481, "070701", 0, 0,
	  "'t.cpio': offset 481: a header must start at a multiple of 4 bytes "
	  "from offset 0" },
	{ "third header broken", 236, "070701zz", 0, 0,
	  "'t.cpio': offset 242: ino field \"zz0002d3\" is not 8 hex digits" },
	{ "header cut short", 0, NULL, 0, 352 + 50,
	  "'t.cpio': offset 352: header cut short: 50 of 110 bytes" },
	{ "name cut short", 0, NULL, 0, 112 + 112,
	  "'t.cpio': offset 222: name and its padding (6 bytes) cut short by "
	  "the end of the data" },
	{ "data cut short", 0, NULL, 0, 231,
	  "'t.cpio': offset 112: 5 bytes of data run past the end (3 bytes "
	  "left)" },
	{ "symlink cut short", 0, NULL, 0, 350,
	  "'t.cpio': offset 236: 3 bytes of data run past the end (2 bytes "
	  "left)" },
};

TEST(malformed_archives)
{
	for (size_t i = 0; i < ARRAY_SIZE(breakages); i++) {
		const struct breakage *b = &breakages[i];
		struct strbuf sb;
		struct ek_error err;
		int n, ret;

		strbuf_init(&sb);
		base(&sb, false);
		if (b->bytes)
			memcpy(sb.buf + b->at, b->bytes,
			       b->blen ? b->blen : strlen(b->bytes));
		if (b->cut)
			sb.len = b->cut;
		ret = walk(&sb, &n, &err);
		CHECK(ret == EK_EFORMAT);
		if (ret != EK_EFORMAT || strcmp(err.msg, b->msg) != 0)
			fprintf(stderr, "  case: %s\n", b->what);
		if (ret == EK_EFORMAT)
			CHECK_STR(err.msg, b->msg);
		strbuf_release(&sb);
	}
}

/* A cut that falls in the data padding or the final zeros is fine: only
 * what follows needs aligning. */
TEST(cut_after_the_data_is_fine)
{
	struct strbuf sb;
	struct ek_error err;
	int n;

	strbuf_init(&sb);
	base(&sb, false);
	sb.len = 351; /* after l's data, in its padding: no trailer */
	CHECK(walk(&sb, &n, &err) == 0 && n == 3 && rd.trailers == 0);
	sb.len = 477; /* one byte into the zeros after the trailer */
	CHECK(walk(&sb, &n, &err) == 0 && n == 3 && rd.trailers == 1);
	strbuf_release(&sb);
}

/* ---- helpers for listings ---- */

TEST(mode_strings)
{
	static const struct { uint32_t mode; const char *s; } rows[] = {
		{ 040755, "drwxr-xr-x" }, { 0100644, "-rw-r--r--" },
		{ 0104755, "-rwsr-xr-x" }, { 0104644, "-rwSr--r--" },
		{ 0102755, "-rwxr-sr-x" }, { 0102745, "-rwxr-Sr-x" },
		{ 041777, "drwxrwxrwt" }, { 041776, "drwxrwxrwT" },
		{ 0120777, "lrwxrwxrwx" }, { 020600, "crw-------" },
		{ 060660, "brw-rw----" }, { 010644, "prw-r--r--" },
		{ 0140755, "srwxr-xr-x" }, { 0170000, "?---------" },
		{ 0, "?---------" }, { 0107777, "-rwsrwsrwt" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char s[11];

		cpio_mode_string(rows[i].mode, s);
		CHECK_STR(s, rows[i].s);
	}
}

TEST(escaping)
{
	static const struct { const char *in; size_t len; const char *out; } rows[] = {
		{ "rootfs/bin/sh", 0, "rootfs/bin/sh" },
		{ "a b", 0, "a\\x20b" },
		{ "back\\slash", 0, "back\\\\slash" },
		{ "\a\b\t\n\v\f\r", 0, "\\a\\b\\t\\n\\v\\f\\r" },
		{ "\x1b[31mred", 0, "\\x1b[31mred" },
		{ "nul\0x", 5, "nul\\x00x" },
		{ "\x01\x1f\x7f", 0, "\\x01\\x1f\\x7f" },
		{ "caf\xc3\xa9", 0, "caf\xc3\xa9" },               /* é */
		{ "\xe6\x97\xa5\xe6\x9c\xac", 0, "\xe6\x97\xa5\xe6\x9c\xac" },
		{ "\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80" },     /* U+1F600 */
		{ "\xc2\x9b" "2J", 0, "\\xc2\\x9b2J" },            /* C1 CSI */
		{ "\xe2\x80\xae" "exe", 0, "\\xe2\\x80\\xaeexe" }, /* RLO */
		{ "\xe2\x81\xa6", 0, "\\xe2\\x81\\xa6" },          /* LRI */
		{ "\xe2\x80\xa8", 0, "\\xe2\\x80\\xa8" },          /* LSEP */
		{ "\xd8\x9c", 0, "\\xd8\\x9c" },                   /* ALM */
		{ "\xc2\xa0", 0, "\\xc2\\xa0" },                   /* NBSP */
		{ "\xc2\xa1", 0, "\xc2\xa1" },                       /* ¡ */
		{ "\xe2\x80\x8b", 0, "\\xe2\\x80\\x8b" },          /* ZWSP */
		{ "\xe3\x80\x80", 0, "\\xe3\\x80\\x80" },          /* ideographic */
		{ "\xef\xbb\xbf", 0, "\\xef\\xbb\\xbf" },          /* BOM */
		{ "\xc0\xaf", 0, "\\xc0\\xaf" },                   /* overlong / */
		{ "\xe0\x80\xaf", 0, "\\xe0\\x80\\xaf" },          /* overlong */
		{ "\xed\xa0\x80", 0, "\\xed\\xa0\\x80" },          /* surrogate */
		{ "\xf4\x90\x80\x80", 0, "\\xf4\\x90\\x80\\x80" }, /* > 10FFFF */
		{ "\xf5\x80", 0, "\\xf5\\x80" },
		{ "\xc3", 0, "\\xc3" },                            /* cut short */
		{ "\xe6\x97", 0, "\\xe6\\x97" },
		{ "\xe6\x97x", 0, "\\xe6\\x97x" },
		{ "\xff\xfe", 0, "\\xff\\xfe" },
		{ "", 0, "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct strbuf sb;

		strbuf_init(&sb);
		text_escape(&sb, rows[i].in,
			    rows[i].len ? rows[i].len : strlen(rows[i].in), 0);
		CHECK(strbuf_ok(&sb));
		CHECK_STR(sb.buf, rows[i].out);
		strbuf_release(&sb);
	}
}

TEST(compression_magics)
{
	static const struct { const char *p; const char *name; } rows[] = {
		{ "\x1f\x8b", "gzip" }, { "\x1f\x9e", "gzip" },
		{ "BZh9", "bzip2" }, { "\x5d\x00\x00", "lzma" },
		{ "\xfd" "7zXZ", "xz" }, { "\x89LZO", "lzo" },
		{ "\x02\x21\x4c\x18", "lz4" }, { "\x28\xb5\x2f\xfd", "zstd" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		CHECK_STR(cpio_compression((const uint8_t *)rows[i].p, 2),
			  rows[i].name);
	CHECK(cpio_compression((const uint8_t *)"07", 2) == NULL);
	CHECK(cpio_compression((const uint8_t *)"\x1f", 1) == NULL);
}

int main(void)
{
	RUN(base_archive);
	RUN(uppercase_hex_reads_the_same);
	RUN(crc_format);
	RUN(crc_large_file);
	RUN(concatenated_archives_and_nul_padding);
	RUN(nul_runs_between_entries_and_no_trailer);
	RUN(empty_and_all_nul_ranges);
	RUN(range_in_a_larger_file);
	RUN(symlink_target_with_trailing_nul);
	RUN(name_and_link_limits);
	RUN(every_file_type);
	RUN(compressed_data_after_an_archive);
	RUN(error_is_sticky);
	RUN(bad_range);
	RUN(message_names_the_part);
	RUN(malformed_archives);
	RUN(cut_after_the_data_is_fine);
	RUN(mode_strings);
	RUN(escaping);
	RUN(compression_magics);
	return unit_done();
}
