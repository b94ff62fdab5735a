/* Unit tests for container image layers and stores (layer.c, oci.c,
 * blobstore.c), also run under ASan + UBSan: layers are built here as
 * ustar bytes, one header at a time, put into an OCI layout in a fresh
 * folder, and applied to a tree. */
#include "base/internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/strbuf.h"
#include "image/blobstore.h"
#include "image/layer.h"
#include "image/oci.h"
#include "ramdisk/tree.h"
#include "unit.h"

/* ---- building layers ---- */

#define F(n, d) { .name = (n), .type = '0', .data = (d) }
#define FM(n, d, m, u, g) \
	{ .name = (n), .type = '0', .data = (d), .mode = (m), .uid = (u), .gid = (g) }
#define D(n) { .name = (n), .type = '5' }
#define HL(n, t) { .name = (n), .type = '1', .data = (t) }
#define SYM(n, t) { .name = (n), .type = '2', .data = (t) }

struct tent {
	const char *name;
	char type;          /* '0' file, '1' hard link, '2' symlink, '5' dir */
	const char *data;   /* file contents, or the link target */
	uint32_t mode, uid, gid;
};

static void octal(char *field, size_t width, uint64_t v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, (unsigned long long)v);
	memcpy(field, tmp, width - 1);
	field[width - 1] = '\0';
}

static void put_header(struct strbuf *sb, const struct tent *e, uint64_t size)
{
	char h[512];
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	snprintf(h, 100, "%s", e->name);
	octal(h + 100, 8, e->mode ? e->mode : e->type == '5' ? 0755 : 0644);
	octal(h + 108, 8, e->uid);
	octal(h + 116, 8, e->gid);
	octal(h + 124, 12, size);
	octal(h + 136, 12, 1600000000);
	h[156] = e->type;
	if (e->type == '1' || e->type == '2')
		snprintf(h + 157, 100, "%s", e->data);
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += (uint8_t)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	strbuf_add(sb, h, 512);
}

/* A tar of n entries; end: the two zero blocks at the end. */
static void put_tar(struct strbuf *sb, const struct tent *e, size_t n, bool end)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = e[i].type == '0' && e[i].data ? strlen(e[i].data) : 0;

		put_header(sb, &e[i], len);
		strbuf_add(sb, e[i].data ? e[i].data : "", len);
		while (sb->len % 512)
			strbuf_addch(sb, '\0');
	}
	for (int i = 0; end && i < 1024; i++)
		strbuf_addch(sb, '\0');
}

/* ---- a layout in a fresh folder ---- */

static char dir[64];

static void sha256_hex(const void *p, size_t n, char out[65])
{
	uint8_t d[32];
	unsigned dl;

	EVP_Digest(p, n, d, &dl, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void write_file(const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	CHECK(f && fwrite(p, 1, n, f) == n);
	if (f)
		fclose(f);
}

/* Store a blob; its digest goes to digest (sha256:hex). */
static void put_blob(const void *p, size_t n, char digest[72])
{
	char hex[65], name[128];

	sha256_hex(p, n, hex);
	snprintf(name, sizeof(name), "blobs/sha256/%s", hex);
	write_file(name, p, n);
	snprintf(digest, 72, "sha256:%s", hex);
}

static void layout_new(void)
{
	char p[128];

	snprintf(dir, sizeof(dir), "/tmp/eifkit-unit-layer-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/blobs", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/blobs/sha256", dir);
	mkdir(p, 0755);
}

static void layout_remove(void)
{
	char p[256];
	DIR *d;
	struct dirent *de;

	snprintf(p, sizeof(p), "%s/blobs/sha256", dir);
	d = opendir(p);
	while (d && (de = readdir(d))) {
		char f[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
		unlink(f);
	}
	if (d)
		closedir(d);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/blobs", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/index.json", dir);
	unlink(p);
	/* nothing else may be there: the stage file has no name */
	CHECK(rmdir(dir) == 0);
}

/* ---- applying ---- */

struct run {
	struct tree t;
	struct stage st;
	struct blobstore *bs;
	struct layer_opts o;
	struct ek_error err;
	int r;
};

static void run_start(struct run *r)
{
	memset(r, 0, sizeof(*r));
	layout_new();
	tree_init(&r->t);
	CHECK(stage_open(&r->st, dir, &r->err) == 0);
	CHECK(blobstore_open('d', dir, NULL, &r->bs, &r->err) == 0);
}

/* Apply one layer (raw tar bytes) unless an earlier one failed. */
static void run_layer(struct run *r, const struct strbuf *tar)
{
	struct oci_layer l;
	char digest[72], name[128];

	if (r->r)
		return;
	put_blob(tar->buf, tar->len, digest);
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	l.name = name;
	l.digest = digest;
	l.size = (int64_t)tar->len;
	l.media_type = NULL;
	r->r = layer_apply(&r->t, &r->st, r->bs, &l, &r->o, &r->err);
}

static void run_tar(struct run *r, const struct tent *e, size_t n)
{
	struct strbuf sb;

	strbuf_init(&sb);
	put_tar(&sb, e, n, true);
	run_layer(r, &sb);
	strbuf_release(&sb);
}

static int run_finish(struct run *r)
{
	if (r->r == 0)
		r->r = tree_finish(&r->t, 0, &r->err);
	return r->r;
}

static void run_end(struct run *r)
{
	tree_release(&r->t);
	stage_close(&r->st);
	blobstore_free(r->bs);
	layout_remove();
}

static const struct tree_entry *get(struct run *r, const char *path)
{
	return tree_find(&r->t, path);
}

/* The staged contents of a file. */
static bool content_is(struct run *r, const char *path, const char *want)
{
	const struct tree_entry *e = get(r, path);
	char buf[256];

	if (!e || e->type != TREE_REG || e->size != strlen(want) ||
	    e->size >= sizeof(buf))
		return false;
	if (pread(e->stage_fd, buf, e->size, (off_t)e->stage_off) !=
	    (ssize_t)e->size)
		return false;
	return !memcmp(buf, want, e->size);
}

/* ---- tests ---- */

TEST(whiteouts_and_opaque_folders)
{
	static const struct tent lower[] = {
		D("a/"), D("a/b/"), F("a/b/c", "c"),
		F("a/keep", "k"), D("x/"), F("x/1", "1"),
		D("y/"), F("y/old", "o"), F("y/sub/deep", "d"),
	};
	static const struct tent upper[] = {
		F("a/b/.wh.c", NULL), F(".wh.x", NULL), F("y/.wh..wh..opq", NULL),
		F("y/new", "n"), F("same", "s"), F(".wh.same", NULL),
	};
	struct run r;

	run_start(&r);
	run_tar(&r, lower, ARRAY_SIZE(lower));
	run_tar(&r, upper, ARRAY_SIZE(upper));
	CHECK(run_finish(&r) == 0);
	CHECK(get(&r, "a/b") && !get(&r, "a/b/c") && get(&r, "a/keep"));
	CHECK(!get(&r, "x") && !get(&r, "x/1"));
	CHECK(get(&r, "y") && !get(&r, "y/old") && !get(&r, "y/sub"));
	CHECK(content_is(&r, "y/new", "n"));
	CHECK(content_is(&r, "same", "s"));
	for (size_t i = 0; i < r.t.n; i++)
		CHECK(!strstr(r.t.e[i].path, ".wh."));
	run_end(&r);
}

TEST(hard_links_share_the_target)
{
	static const struct tent l[] = {
		FM("a", "data", 0600, 1, 2),
		{ .name = "b", .type = '1', .data = "a", .mode = 0755, .uid = 3, .gid = 4 },
		{ .name = "c", .type = '1', .data = "/a", .mode = 0644 },
	};
	const struct tree_entry *a, *b, *c;
	struct run r;

	run_start(&r);
	run_tar(&r, l, ARRAY_SIZE(l));
	CHECK(run_finish(&r) == 0);
	a = get(&r, "a"), b = get(&r, "b"), c = get(&r, "c");
	CHECK(a && b && c);
	if (a && b && c) {
		CHECK(a->link_group && a->link_group == b->link_group &&
		      b->link_group == c->link_group);
		CHECK(b->mode == 0600 && b->uid == 1 && b->gid == 2);
		CHECK(c->mode == 0600 && c->uid == 1);
		CHECK(content_is(&r, "c", "data"));
	}
	run_end(&r);
}

TEST(names_through_symlinks)
{
	static const struct tent same[] = {
		SYM("d", "/etc"), F("d/passwd", "x"),
	};
	static const struct tent later_dir[] = {
		SYM("d", "/etc"), F("d/passwd", "x"), D("d/"),
	};
	static const struct tent below_file[] = {
		F("f", "x"), F("f/g/h", "y"),
	};
	static const struct tent sym[] = { SYM("l", "../..") };
	static const struct tent through[] = { F("l/x", "x") };
	static const struct tent removed[] = {
		F(".wh.l", NULL), F("l/x", "x"),
	};
	struct run r;

	run_start(&r);
	run_tar(&r, same, ARRAY_SIZE(same));
	CHECK(r.r == EK_EUNSAFE);
	CHECK(strstr(r.err.msg, "'d/passwd' reaches through 'd', a symlink "
				"to '/etc'") != NULL);
	run_end(&r);

	run_start(&r);
	run_tar(&r, later_dir, ARRAY_SIZE(later_dir));
	CHECK(r.r == EK_EUNSAFE);
	run_end(&r);

	run_start(&r);
	run_tar(&r, below_file, ARRAY_SIZE(below_file));
	CHECK(r.r == EK_EFORMAT);
	CHECK(strstr(r.err.msg, "'f/g/h' is below 'f'") != NULL);
	run_end(&r);

	run_start(&r);
	run_tar(&r, sym, ARRAY_SIZE(sym));
	run_tar(&r, through, ARRAY_SIZE(through));
	CHECK(r.r == EK_EUNSAFE && strstr(r.err.msg, "'l/x'"));
	run_end(&r);

	run_start(&r);
	run_tar(&r, sym, ARRAY_SIZE(sym));
	run_tar(&r, removed, ARRAY_SIZE(removed));
	CHECK(run_finish(&r) == 0);
	CHECK(get(&r, "l") && get(&r, "l")->type == TREE_DIR);
	run_end(&r);
}

TEST(later_entries_replace_earlier_ones)
{
	static const struct tent lower[] = {
		D("d/"), F("d/child", "c"), F("f", "file"),
		SYM("s", "x"), F("dup", "1"), F("dup", "2"),
	};
	static const struct tent upper[] = {
		F("d", "now a file"), D("f/"), F("f/in", "i"),
		D("s/"),
	};
	struct run r;

	run_start(&r);
	run_tar(&r, lower, ARRAY_SIZE(lower));
	run_tar(&r, upper, ARRAY_SIZE(upper));
	CHECK(run_finish(&r) == 0);
	CHECK(content_is(&r, "d", "now a file") && !get(&r, "d/child"));
	CHECK(get(&r, "f") && get(&r, "f")->type == TREE_DIR);
	CHECK(content_is(&r, "f/in", "i"));
	CHECK(get(&r, "s") && get(&r, "s")->type == TREE_DIR);
	CHECK(content_is(&r, "dup", "2"));
	run_end(&r);
}

TEST(many_entries_and_deep_paths)
{
	struct strbuf sb;
	struct run r;
	char names[600][48];
	struct tent e[600];

	for (int i = 0; i < 600; i++) {
		snprintf(names[i], sizeof(names[i]), "d%d/e%d/f%d/file%d", i % 7,
			 i % 13, i % 3, i);
		e[i] = (struct tent)F(names[i], "x");
	}
	run_start(&r);
	strbuf_init(&sb);
	put_tar(&sb, e, 600, true);
	run_layer(&r, &sb);
	run_layer(&r, &sb); /* the same again: every entry replaced */
	strbuf_release(&sb);
	CHECK(run_finish(&r) == 0);
	CHECK(get(&r, "d6/e9/f0/file594") != NULL);
	run_end(&r);
}

TEST(cut_layers)
{
	static const struct tent l[] = {
		F("a", "first"), F("b", "tail"),
	};
	struct strbuf sb;
	struct run r;
	size_t full;

	strbuf_init(&sb);
	put_tar(&sb, l, 2, false);
	full = sb.len;

	/* ends right after b's data (umoci 0.4.7): accepted */
	sb.len = full - 512 + 4;
	run_start(&r);
	run_layer(&r, &sb);
	CHECK(run_finish(&r) == 0);
	CHECK(content_is(&r, "b", "tail"));
	run_end(&r);

	/* inside b's data: refused */
	sb.len = full - 512 + 2;
	run_start(&r);
	run_layer(&r, &sb);
	CHECK(r.r != 0);
	run_end(&r);

	/* inside b's header: refused */
	sb.len = full - 1024 + 100;
	run_start(&r);
	run_layer(&r, &sb);
	CHECK(r.r != 0);
	run_end(&r);
	strbuf_release(&sb);
}

TEST(names_with_dotdot_are_refused)
{
	static const char *const bad[] = { "../x", "a/../../x", "a/..", ".." };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tent e = F(bad[i], "x");
		struct run r;

		run_start(&r);
		run_tar(&r, &e, 1);
		CHECK(r.r == EK_EUNSAFE);
		run_end(&r);
	}
}

TEST(blob_mismatch_is_refused)
{
	static const struct tent l[] = { F("a", "x") };
	struct strbuf sb;
	struct oci_layer ol;
	struct run r;
	char digest[72], name[128];

	strbuf_init(&sb);
	put_tar(&sb, l, 1, true);
	run_start(&r);
	put_blob(sb.buf, sb.len, digest);
	snprintf(name, sizeof(name), "blobs/sha256/%s", digest + 7);
	ol = (struct oci_layer){ name, digest, (int64_t)sb.len + 1, NULL };
	CHECK(layer_apply(&r.t, &r.st, r.bs, &ol, &r.o, &r.err) == EK_EMISMATCH);
	CHECK(strstr(r.err.msg, digest + 7) != NULL);
	digest[10] = digest[10] == 'a' ? 'b' : 'a';
	ol.size = (int64_t)sb.len;
	CHECK(layer_apply(&r.t, &r.st, r.bs, &ol, &r.o, &r.err) != 0);
	strbuf_release(&sb);
	run_end(&r);
}

/* ---- resolving an image ---- */

static void put_image(const char *arch, const char *file, char mdesc[512])
{
	struct tent e = F(file, arch);
	struct strbuf tar, js;
	char ld[72], cd[72], md[72];
	size_t cfg_len;

	strbuf_init(&tar);
	strbuf_init(&js);
	put_tar(&tar, &e, 1, true);
	put_blob(tar.buf, tar.len, ld);
	strbuf_addf(&js, "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":"
		    "{\"Cmd\":[\"/%s\"],\"Env\":[\"A=1\"]}}", arch, file);
	put_blob(js.buf, js.len, cd);
	cfg_len = js.len;
	js.len = 0;
	strbuf_addf(&js, "{\"schemaVersion\":2,\"config\":{\"mediaType\":"
		    "\"application/vnd.oci.image.config.v1+json\",\"digest\":"
		    "\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
		    "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":"
		    "\"%s\",\"size\":%zu}]}", cd, cfg_len, ld, tar.len);
	put_blob(js.buf, js.len, md);
	snprintf(mdesc, 512, "{\"mediaType\":\"application/vnd.oci.image."
		 "manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu,"
		 "\"platform\":{\"os\":\"linux\",\"architecture\":\"%s\"}}",
		 md, js.len, arch);
	strbuf_release(&tar);
	strbuf_release(&js);
}

/* A pax header (type 'x') of the given records, as bytes with NULs. */
static void put_pax(struct strbuf *sb, const char *rec, size_t len)
{
	struct tent x = { .name = "PaxHeader", .type = 'x' };

	put_header(sb, &x, len);
	strbuf_add(sb, rec, len);
	while (sb->len % 512)
		strbuf_addch(sb, '\0');
}

/* The pax check keeps the last 8 MiB of the stream: a pax header after
 * 9 MiB of file data (across the ring's end) is still read again, and
 * its NUL found; the same header without the NUL is taken. */
TEST(pax_nul_after_the_ring_wraps)
{
	static const char bad[] = "14 path=a\0bcd\n", good[] = "14 path=abcde\n";
	const struct tent big = { .name = "big", .type = '0' };
	const struct tent after = F("plain", "x");
	struct run r;

	for (int i = 0; i < 2; i++) {
		struct strbuf sb;

		strbuf_init(&sb);
		put_header(&sb, &big, (9u << 20) + 100);
		for (size_t k = 0; k < (9u << 20) + 100 + 412; k++)
			strbuf_addch(&sb, 'z');
		put_pax(&sb, i ? good : bad, sizeof(bad) - 1);
		put_tar(&sb, &after, 1, true);
		run_start(&r);
		run_layer(&r, &sb);
		if (i == 0) {
			CHECK(r.r == EK_EFORMAT);
			CHECK(strstr(r.err.msg, "'path' holds a NUL") != NULL);
		} else {
			CHECK(r.r == 0);
			CHECK(tree_finish(&r.t, 0, &r.err) == 0 &&
			      tree_find(&r.t, "abcde") && !tree_find(&r.t, "plain"));
		}
		run_end(&r);
		strbuf_release(&sb);
	}
}

TEST(resolve_by_platform)
{
	char amd[512], arm[512], amd2[512], index[2048];
	struct oci_image img;
	struct ek_error err;
	struct blobstore *bs;

	layout_new();
	put_image("amd64", "x86", amd);
	put_image("arm64", "arm", arm);
	snprintf(index, sizeof(index), "{\"schemaVersion\":2,\"manifests\":"
		 "[%s,%s]}", amd, arm);
	write_file("index.json", index, strlen(index));
	CHECK(blobstore_open('d', dir, NULL, &bs, &err) == 0);
	CHECK(oci_resolve(bs, OCI_LAYOUT, NULL, "amd64", &img, &err) == 0);
	CHECK_STR(img.arch, "amd64");
	CHECK(img.cmd.n == 1 && !strcmp(img.cmd.v[0], "/x86"));
	CHECK(img.env.n == 1 && img.nlayers == 1);
	oci_image_release(&img);
	CHECK(oci_resolve(bs, OCI_LAYOUT, NULL, "arm64", &img, &err) == 0);
	CHECK_STR(img.arch, "arm64");
	oci_image_release(&img);
	CHECK(oci_resolve(bs, OCI_LAYOUT, NULL, "s390x", &img, &err) == EK_EINVAL);
	CHECK(strstr(err.msg, "(linux/amd64)") && strstr(err.msg, "(linux/arm64)"));
	/* a second amd64 image: ambiguous, both listed */
	put_image("amd64", "other", amd2);
	snprintf(index, sizeof(index), "{\"schemaVersion\":2,\"manifests\":"
		 "[%s,%s,%s]}", amd, arm, amd2);
	write_file("index.json", index, strlen(index));
	CHECK(oci_resolve(bs, OCI_LAYOUT, NULL, "amd64", &img, &err) == EK_EINVAL);
	CHECK(strstr(err.msg, "more than one") != NULL);
	/* the same manifest twice is one image */
	snprintf(index, sizeof(index), "{\"schemaVersion\":2,\"manifests\":"
		 "[%s,%s,%s]}", amd, arm, amd);
	write_file("index.json", index, strlen(index));
	CHECK(oci_resolve(bs, OCI_LAYOUT, NULL, "amd64", &img, &err) == 0);
	oci_image_release(&img);
	blobstore_free(bs);
	layout_remove();
}

int main(void)
{
	RUN(whiteouts_and_opaque_folders);
	RUN(hard_links_share_the_target);
	RUN(names_through_symlinks);
	RUN(later_entries_replace_earlier_ones);
	RUN(many_entries_and_deep_paths);
	RUN(cut_layers);
	RUN(names_with_dotdot_are_refused);
	RUN(blob_mismatch_is_refused);
	RUN(pax_nul_after_the_ring_wraps);
	RUN(resolve_by_platform);
	return unit_done();
}
