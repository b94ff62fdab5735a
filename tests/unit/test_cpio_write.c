/* Unit tests for the streaming newc writer (cpio_write.c): exact bytes of
 * a small archive written out by hand from AWS-BUILD-AND-INIT.md 3.1 (not
 * from the writer), the same stream whatever the read size, hard links,
 * what is refused before the first byte, and files that change between
 * the scan and the read (checked at open, while reading, at the end), a
 * FIFO in a file's place included. */
#include "base/internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "ramdisk/cpio_write.h"
#include "ramdisk/tree.h"
#include "unit.h"

static struct tree_entry ent(const char *path, enum tree_type type,
			     uint32_t mode)
{
	struct tree_entry e;

	memset(&e, 0, sizeof(e));
	e.path = (char *)path;
	e.type = type;
	e.mode = mode;
	return e;
}

/* The whole archive, read cap bytes at a time; NULL on error (err set). */
static uint8_t *read_all(const struct cpio_member *m, size_t n,
			 uint32_t groups, size_t cap, size_t *len,
			 struct ek_error *err)
{
	struct cpio_writer *w;
	struct strbuf sb;
	uint8_t *buf = malloc(cap);
	size_t got;
	int r = cpio_writer_new(m, n, groups, &w, err);

	if (r) {
		free(buf);
		return NULL;
	}
	strbuf_init(&sb);
	while ((r = cpio_writer_read(w, buf, cap, &got, err)) == 0 && got)
		strbuf_add(&sb, buf, got);
	CHECK(r || cpio_writer_offset(w) == sb.len);
	cpio_writer_free(w);
	free(buf);
	if (r) {
		strbuf_release(&sb);
		return NULL;
	}
	return (uint8_t *)strbuf_detach(&sb, len);
}

/* One header as the spec lays it out, for the expected bytes. */
static void hdr(struct strbuf *sb, uint32_t ino, uint32_t mode, uint32_t nlink,
		uint32_t mtime, uint32_t size, uint32_t rmaj, uint32_t rmin,
		const char *name)
{
	strbuf_addf(sb, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x"
		    "%08x%08x", ino, mode, 0u, 0u, nlink, mtime, size, 3u, 1u,
		    rmaj, rmin, (uint32_t)strlen(name) + 1, 0u);
	strbuf_add(sb, name, strlen(name) + 1);
	while (sb->len % 4)
		strbuf_addch(sb, '\0');
}

static void data(struct strbuf *sb, const char *d, size_t n)
{
	strbuf_add(sb, d, n);
	while (sb->len % 4)
		strbuf_addch(sb, '\0');
}

TEST(exact_bytes)
{
	struct tree_entry e[5] = {
		ent("d", TREE_DIR, 01777), ent("d/f", TREE_REG, 04755),
		ent("d/l", TREE_LNK, 0777), ent("dev/c", TREE_CHR, 0600),
		ent("p", TREE_FIFO, 0640),
	};
	struct cpio_member m[5];
	struct strbuf want;
	struct ek_error err;
	uint8_t *got;
	size_t len;

	e[1].data = (uint8_t *)"hello";
	e[1].size = 5;
	e[1].mtime = 0xfedcba98;
	e[2].link = "../x";
	e[3].rdev_major = 0xabc;
	e[3].rdev_minor = 0x12345;
	for (int i = 0; i < 5; i++)
		m[i] = (struct cpio_member){ i == 4 ? "pre/" : "", &e[i] };
	strbuf_init(&want);
	hdr(&want, 721, 041777, 2, 0, 0, 0, 0, "d");
	hdr(&want, 722, 0104755, 1, 0xfedcba98, 5, 0, 0, "d/f");
	data(&want, "hello", 5);
	hdr(&want, 723, 0120777, 1, 0, 4, 0, 0, "d/l");
	data(&want, "../x", 4);
	hdr(&want, 724, 020600, 1, 0, 0, 0xabc, 0x12345, "dev/c");
	hdr(&want, 725, 010640, 1, 0, 0, 0, 0, "pre/p");
	hdr(&want, 726, 0, 1, 0, 0, 0, 0, "TRAILER!!!");
	while (want.len % 512)
		strbuf_addch(&want, '\0');
	got = read_all(m, 5, 1, 1 << 16, &len, &err);
	CHECK(got && len == want.len && !memcmp(got, want.buf, len));
	free(got);
	strbuf_release(&want);
}

TEST(any_read_size_gives_the_same_stream)
{
	static const size_t caps[] = { 1, 2, 3, 7, 110, 111, 511, 513, 4096 };
	struct tree_entry e[3] = { ent("a", TREE_REG, 0644),
				   ent("bb", TREE_REG, 0644),
				   ent("c", TREE_LNK, 0777) };
	struct cpio_member m[3];
	uint8_t big[3001];
	struct ek_error err;
	uint8_t *ref;
	size_t ref_len;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	e[0].data = big;
	e[0].size = sizeof(big);
	e[1].data = (uint8_t *)"x";
	e[1].size = 1;
	e[2].link = "a";
	for (int i = 0; i < 3; i++)
		m[i] = (struct cpio_member){ "rootfs/", &e[i] };
	ref = read_all(m, 3, 1, 1 << 20, &ref_len, &err);
	CHECK(ref && ref_len % 512 == 0);
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		size_t len;
		uint8_t *got = read_all(m, 3, 1, caps[i], &len, &err);

		CHECK(got && len == ref_len && !memcmp(got, ref, len));
		free(got);
	}
	free(ref);
}

TEST(hard_links)
{
	/* g1: a, c, e (data with a); b, d plain; inode numbers stay dense */
	struct tree_entry e[5] = {
		ent("a", TREE_REG, 0644), ent("b", TREE_REG, 0644),
		ent("c", TREE_REG, 0644), ent("d", TREE_REG, 0644),
		ent("e", TREE_REG, 0644),
	};
	struct cpio_member m[5];
	struct strbuf want;
	struct ek_error err;
	uint8_t *got;
	size_t len;

	for (int i = 0; i < 5; i++) {
		e[i].data = (uint8_t *)(i % 2 ? "plain" : "linked");
		e[i].size = strlen((char *)e[i].data);
		e[i].link_group = i % 2 ? 0 : 1;
		m[i] = (struct cpio_member){ "", &e[i] };
	}
	strbuf_init(&want);
	hdr(&want, 721, 0100644, 3, 0, 6, 0, 0, "a");
	data(&want, "linked", 6);
	hdr(&want, 722, 0100644, 1, 0, 5, 0, 0, "b");
	data(&want, "plain", 5);
	hdr(&want, 721, 0100644, 3, 0, 0, 0, 0, "c");
	hdr(&want, 723, 0100644, 1, 0, 5, 0, 0, "d");
	data(&want, "plain", 5);
	hdr(&want, 721, 0100644, 3, 0, 0, 0, 0, "e");
	hdr(&want, 724, 0, 1, 0, 0, 0, 0, "TRAILER!!!");
	while (want.len % 512)
		strbuf_addch(&want, '\0');
	got = read_all(m, 5, 2, 100, &len, &err);
	CHECK(got && len == want.len && !memcmp(got, want.buf, len));
	free(got);
	strbuf_release(&want);
}

TEST(empty_archive)
{
	struct strbuf want;
	struct ek_error err;
	uint8_t *got;
	size_t len;

	strbuf_init(&want);
	hdr(&want, 721, 0, 1, 0, 0, 0, 0, "TRAILER!!!");
	while (want.len % 512)
		strbuf_addch(&want, '\0');
	got = read_all(NULL, 0, 0, 7, &len, &err);
	CHECK(got && len == 512 && !memcmp(got, want.buf, len));
	free(got);
	strbuf_release(&want);
}

/* cpio_writer_new refuses m[0] with a message holding `needle`. */
static void refused(const struct cpio_member *m, const char *needle)
{
	struct cpio_writer *w = NULL;
	struct ek_error err;

	CHECK(cpio_writer_new(m, 1, 1, &w, &err) < 0);
	CHECK(w == NULL);
	if (!strstr(err.msg, needle))
		fprintf(stderr, "  message: %s\n  wanted: %s\n", err.msg, needle);
	CHECK(strstr(err.msg, needle) != NULL);
}

TEST(refused_before_the_first_byte)
{
	struct tree_entry e = ent("TRAILER!!!", TREE_REG, 0644);
	struct cpio_member m = { "", &e };
	char *longname = malloc(TREE_PATH_MAX + 1);

	refused(&m, "'TRAILER!!!': a member with this name would end");
	m.prefix = "rootfs/"; /* below the top: an ordinary name */
	e.mtime = -1;
	refused(&m, "'rootfs/TRAILER!!!': mtime -1 is outside");
	e.mtime = (int64_t)TREE_MTIME_MAX + 1;
	refused(&m, "mtime 4294967296 is outside");
	e.mtime = (int64_t)TREE_MTIME_MAX;
	e.size = TREE_FILE_MAX + 1;
	e.src = "/host/file";
	refused(&m, "'/host/file': 4 GiB or larger");
	e.size = 0;
	memset(longname, 'n', TREE_PATH_MAX);
	longname[TREE_PATH_MAX - 7] = '\0';
	e.path = longname; /* 4088 + "rootfs/" = 4095: fits */
	{
		struct cpio_writer *w;
		struct ek_error err;

		CHECK(cpio_writer_new(&m, 1, 1, &w, &err) == 0);
		cpio_writer_free(w);
	}
	longname[TREE_PATH_MAX - 7] = 'n';
	longname[TREE_PATH_MAX - 6] = '\0';
	refused(&m, "a name of 4096 bytes, longer than the 4095");
	free(longname);
}

/* ---- files that change ---- */

static char dir[64];

static const char *file(const char *name, const char *content)
{
	static char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(content, f);
		fclose(f);
	}
	return p;
}

/* Start a writer on one file member of size `size` at path (below dir,
 * as a scan of dir records it: the identity is what lstat sees now);
 * read `first` bytes; call change(path); read the rest. Returns the error
 * code and leaves the message in err. */
static int read_with_change(const char *path, uint64_t size, size_t first,
			    void (*change)(const char *), struct ek_error *err)
{
	struct tree_entry e = ent("f", TREE_REG, 0644);
	struct cpio_member m = { "", &e };
	struct cpio_writer *w;
	struct stat st;
	uint8_t buf[64];
	size_t got, done = 0;
	int r;

	e.src = (char *)path;
	e.src_dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	e.src_rel = (uint32_t)strlen(dir) + 1;
	CHECK(e.src_dir >= 0 && !strncmp(path, dir, e.src_rel - 1));
	CHECK(lstat(path, &st) == 0);
	e.src_dev = (uint64_t)st.st_dev;
	e.src_ino = (uint64_t)st.st_ino;
	e.size = size;
	r = cpio_writer_new(&m, 1, 1, &w, err);
	CHECK(r == 0);
	while (r == 0 && done < first) {
		size_t want = first - done < sizeof(buf) ? first - done : sizeof(buf);

		r = cpio_writer_read(w, buf, want, &got, err);
		done += got;
	}
	if (change)
		change(path);
	while (r == 0 && (r = cpio_writer_read(w, buf, sizeof(buf), &got, err)) == 0 &&
	       got)
		;
	cpio_writer_free(w);
	close(e.src_dir);
	return r;
}

static void shrink(const char *p) { CHECK(truncate(p, 10) == 0); }

static void grow(const char *p)
{
	FILE *f = fopen(p, "a");

	CHECK(f != NULL);
	if (f) {
		fputs("more", f);
		fclose(f);
	}
}

static void to_fifo(const char *p)
{
	CHECK(unlink(p) == 0 && mkfifo(p, 0644) == 0);
}

/* Another file of the same size renamed over p. */
static void replace(const char *p)
{
	char o[256];
	FILE *f;

	snprintf(o, sizeof(o), "%s.other", p);
	f = fopen(o, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", f);
		fclose(f);
	}
	CHECK(rename(o, p) == 0);
}

/* The folder p is in, renamed and replaced by a symlink to a folder
 * outside that holds a file of the same name and size. */
static char outside[64];

static void swap_folder(const char *p)
{
	char sub[256], old[272], f[128];
	FILE *h;

	snprintf(sub, sizeof(sub), "%s", p);
	*strrchr(sub, '/') = '\0';
	snprintf(old, sizeof(old), "%s.old", sub);
	snprintf(f, sizeof(f), "%s/f", outside);
	h = fopen(f, "w");
	CHECK(h != NULL);
	if (h) {
		fputs("SECRET6789abcdefghijklmnopqrstuvwxyz", h);
		fclose(h);
	}
	CHECK(rename(sub, old) == 0 && symlink(outside, sub) == 0);
}

TEST(file_changes)
{
	static const char content[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	static const char hundred[] = "0123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789" "01234567890123456789";
	const size_t n = sizeof(content) - 1;
	const char *p;
	struct ek_error err;

	snprintf(dir, sizeof(dir), "%.40s/eifkit-cpio-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	/* unchanged: fine */
	p = file("f", content);
	CHECK(read_with_change(p, n, 0, NULL, &err) == 0);
	/* changed before the open: the size no longer matches */
	CHECK(read_with_change(p, n + 1, 0, NULL, &err) == EK_EIO);
	CHECK(strstr(err.msg, "changed size after it was scanned (37 bytes, "
		     "now 36)") != NULL);
	/* shrank while being read: 112 bytes of header, then 8 of data */
	CHECK(read_with_change(p, n, 120, shrink, &err) == EK_EIO);
	CHECK(strstr(err.msg, p) && strstr(err.msg, "changed size while being "
					   "read (it shrank)"));
	/* grew while being read, seen by the read that ends the file (it
	 * asks for one byte more: 29 of data left, 64 of room) */
	p = file("f", content);
	CHECK(read_with_change(p, n, 120, grow, &err) == EK_EIO);
	CHECK(strstr(err.msg, p) && strstr(err.msg, "(it grew)"));
	/* and by the read after it when the data left fills the buffer: 100
	 * bytes of data, 36 read, then exactly 64 left for 64 of room */
	p = file("f", hundred);
	CHECK(read_with_change(p, 100, 148, grow, &err) == EK_EIO);
	CHECK(strstr(err.msg, p) && strstr(err.msg, "(it grew)"));
	p = file("f", hundred);
	CHECK(read_with_change(p, 100, 148, NULL, &err) == 0);
	/* replaced by a FIFO: refused, not opened for a writer to come */
	p = file("f", content);
	to_fifo(p);
	CHECK(read_with_change(p, n, 0, NULL, &err) == EK_EIO);
	CHECK(strstr(err.msg, "not a regular file any more") != NULL);
	CHECK(unlink(p) == 0);
	/* replaced by a symlink: not followed */
	CHECK(symlink("/etc/hostname", p) == 0);
	CHECK(read_with_change(p, n, 0, NULL, &err) == EK_EIO);
	CHECK(unlink(p) == 0);
	/* an empty file that is not empty any more */
	p = file("f", "");
	grow(p);
	CHECK(read_with_change(p, 0, 0, NULL, &err) == EK_EIO);
	/* another file of the same size in its place */
	p = file("f", content);
	CHECK(read_with_change(p, n, 0, replace, &err) == EK_EIO);
	CHECK(strstr(err.msg, p) && strstr(err.msg, "changed after it was "
					   "scanned (another file is there now)"));
	CHECK(unlink(p) == 0 && rmdir(dir) == 0);
}

/* Issue #10, 2: the folder a file is in, replaced by a symlink to a
 * folder outside after the scan: the file outside is never read. */
TEST(folder_swapped_for_a_symlink)
{
	static const char content[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	const size_t n = sizeof(content) - 1;
	char sub[128], p[160], cmd[256];
	struct ek_error err;

	snprintf(dir, sizeof(dir), "%.40s/eifkit-cpio-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	snprintf(outside, sizeof(outside), "%.40s/eifkit-out-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(dir) != NULL && mkdtemp(outside) != NULL);
	snprintf(sub, sizeof(sub), "%s/zz", dir);
	CHECK(mkdir(sub, 0755) == 0);
	snprintf(p, sizeof(p), "%s/f", sub);
	{
		FILE *f = fopen(p, "w");

		CHECK(f != NULL);
		if (f) {
			fputs(content, f);
			fclose(f);
		}
	}
	CHECK(read_with_change(p, n, 0, swap_folder, &err) == EK_EIO);
	if (!strstr(err.msg, "a symlink or a non-folder is on its path now"))
		fprintf(stderr, "  message: %s\n", err.msg);
	CHECK(strstr(err.msg, p) && strstr(err.msg, "changed after it was "
		     "scanned (a symlink or a non-folder is on its path now)"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, outside);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(exact_bytes);
	RUN(any_read_size_gives_the_same_stream);
	RUN(hard_links);
	RUN(empty_archive);
	RUN(refused_before_the_first_byte);
	RUN(file_changes);
	RUN(folder_swapped_for_a_symlink);
	return unit_done();
}
