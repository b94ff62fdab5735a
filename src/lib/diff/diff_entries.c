/* diff_entries.c: read a ramdisk into a diff_side (one streaming walk,
 * a SHA-256 per file), then pair two sides by path and say what changed
 * and what moved. */
#include "base/internal.h"

#include <openssl/evp.h>

#include "base/io.h"
#include "diff/diff.h"
#include "diff/diff_internal.h"
#include "ramdisk/cpio_read.h"

#define ARENA_CHUNK (1u << 20)
#define READ_CHUNK DIFF_READ_CHUNK

const char *const diff_field_names[DF_NFIELDS] = {
	"type", "mode", "uid", "gid", "mtime", "size", "content", "target",
	"rdev", "hardlink", "nlink", "ino", "dev", "moved",
};

/* Names, targets and app files, packed in 1 MiB chunks: one malloc per
 * chunk instead of two or three per entry. */
struct diff_arena {
	struct diff_arena *next;
	size_t used, cap;
	uint8_t data[];
};

static void *arena_copy(struct diff_arena **ap, const void *p, size_t len)
{
	struct diff_arena *a = *ap;
	uint8_t *out;

	if (!a || a->cap - a->used < len + 1) {
		size_t cap = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;

		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->next = *ap;
		a->used = 0;
		a->cap = cap;
		*ap = a;
	}
	out = a->data + a->used;
	memcpy(out, p, len);
	out[len] = 0;
	a->used += len + 1;
	return out;
}

void diff_side_release(struct diff_side *s)
{
	while (s->arena) {
		struct diff_arena *next = s->arena->next;

		free(s->arena);
		s->arena = next;
	}
	free(s->e);
	free(s->by_name);
	memset(s, 0, sizeof(*s));
}

/* Also the SHA-384 of whole sections (diff.c). */
int diff_digest_range(const EVP_MD *md, int fd, const char *name,
		      uint64_t off, uint64_t len, uint8_t *buf, uint8_t *out,
		      struct ek_error *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n;
	int ret = 0;

	if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL)) {
		EVP_MD_CTX_free(ctx);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	while (len > 0 && !ret) {
		size_t want = len < READ_CHUNK ? (size_t)len : READ_CHUNK;

		if (io_pread_full(fd, buf, want, off) != (ssize_t)want)
			ret = ek_fail(err, EK_EIO, "'%s': short read at offset "
				      "%llu (file changed while being read?)",
				      name, (unsigned long long)off);
		else
			EVP_DigestUpdate(ctx, buf, want);
		off += want;
		len -= want;
	}
	if (!ret)
		EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	return ret;
}

static bool is_app_file(const struct cpio_entry *c)
{
	return (c->mode & CPIO_IFMT) == CPIO_IFREG && c->filesize <= DIFF_APP_MAX &&
	       (!strcmp(c->name, "cmd") || !strcmp(c->name, "env") ||
		!strcmp(c->name, "workdir"));
}

static int add_entry(struct diff_side *s, int fd, const char *name,
		     const struct cpio_entry *c, uint8_t *buf, size_t *total,
		     struct ek_error *err)
{
	struct diff_entry *e;

	if (++*total > DIFF_MAX_ENTRIES)
		return ek_fail(err, EK_ELIMIT, "'%s': more than %u entries (the "
			       "most diff compares)", name, DIFF_MAX_ENTRIES);
	e = ek_grow(s->e, s->n, &s->alloc, sizeof(*e), 1024);
	if (!e)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	s->e = e;
	e = &s->e[s->n];
	memset(e, 0, sizeof(*e));
	e->pos = (uint32_t)s->n;
	e->name = arena_copy(&s->arena, c->name, c->name_len);
	e->name_len = (uint32_t)c->name_len;
	if (!e->name)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	if ((c->mode & CPIO_IFMT) == CPIO_IFLNK) {
		e->link = arena_copy(&s->arena, c->link, c->link_len);
		e->link_len = (uint32_t)c->link_len;
		if (!e->link)
			return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	e->mode = c->mode;
	e->uid = c->uid;
	e->gid = c->gid;
	e->nlink = c->nlink;
	e->mtime = c->mtime;
	e->size = c->filesize;
	e->rdevmajor = c->rdevmajor;
	e->rdevminor = c->rdevminor;
	e->ino = c->ino;
	e->devmajor = c->devmajor;
	e->devminor = c->devminor;
	e->archive = c->archive;
	e->group = -1;
	s->n++;
	if ((c->mode & CPIO_IFMT) != CPIO_IFREG)
		return 0;
	if (is_app_file(c)) {
		if (io_pread_full(fd, buf, c->filesize, c->data_offset) !=
		    (ssize_t)c->filesize)
			return ek_fail(err, EK_EIO, "'%s': short read", name);
		e->app = arena_copy(&s->arena, buf, c->filesize);
		e->app_len = c->filesize;
		if (!e->app)
			return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	return diff_digest_range(EVP_sha256(), fd, name, c->data_offset,
				 c->filesize, buf, e->sha,
			    err);
}

/* ---- hard-link groups ---- */

/* The kernel links entries with nlink >= 2 that share (ino, dev major,
 * dev minor, file type) within one archive (init/initramfs.c
 * find_link); directories and symlinks never. */
static bool linkable(const struct diff_entry *e)
{
	uint32_t t = e->mode & CPIO_IFMT;

	return e->nlink >= 2 && t != CPIO_IFDIR && t != CPIO_IFLNK;
}

static int cmp_inode(const void *x, const void *y, void *base)
{
	const struct diff_entry *a = (const struct diff_entry *)base + *(const uint32_t *)x;
	const struct diff_entry *b = (const struct diff_entry *)base + *(const uint32_t *)y;
	uint32_t ka[5] = { a->archive, a->ino, a->devmajor, a->devminor,
			   a->mode & CPIO_IFMT };
	uint32_t kb[5] = { b->archive, b->ino, b->devmajor, b->devminor,
			   b->mode & CPIO_IFMT };

	for (int i = 0; i < 5; i++)
		if (ka[i] != kb[i])
			return ka[i] < kb[i] ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool same_inode(const struct diff_entry *a, const struct diff_entry *b)
{
	return a->archive == b->archive && a->ino == b->ino &&
	       a->devmajor == b->devmajor && a->devminor == b->devminor &&
	       !((a->mode ^ b->mode) & CPIO_IFMT);
}

static int cmp_name(const void *x, const void *y, void *base)
{
	const struct diff_entry *a = (const struct diff_entry *)base + *(const uint32_t *)x;
	const struct diff_entry *b = (const struct diff_entry *)base + *(const uint32_t *)y;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	if (c)
		return c;
	if (a->name_len != b->name_len)
		return a->name_len < b->name_len ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The kernel writes the data of every member of a hard-link group into
 * the one file they share (newc writers put it on the first or the last
 * member, the others have none): each member is shown with the data the
 * file ends up with, so a group written either way compares equal. */
static void share_data(struct diff_side *s, const uint32_t *ix, size_t n)
{
	const struct diff_entry *data = NULL;

	for (size_t q = 0; q < n; q++)
		if (s->e[ix[q]].size && (!data || s->e[ix[q]].pos > data->pos))
			data = &s->e[ix[q]];
	for (size_t q = 0; q < n; q++) {
		struct diff_entry *e = &s->e[ix[q]];

		e->group = (int32_t)ix[0];
		if (data && e != data) {
			e->size = data->size;
			memcpy(e->sha, data->sha, DIFF_SHA_LEN);
		}
	}
}

/* Group members get the pos of the group's first entry; by_name is
 * filled, sorted by name. */
static int index_side(struct diff_side *s, struct ek_error *err)
{
	uint32_t *ix = malloc((s->n ? s->n : 1) * sizeof(*ix));
	size_t i, j;

	if (!ix)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	for (i = 0, j = 0; i < s->n; i++)
		if (linkable(&s->e[i]))
			ix[j++] = (uint32_t)i;
	qsort_r(ix, j, sizeof(*ix), cmp_inode, s->e);
	for (size_t k = 0; k < j;) {
		size_t m = k + 1;

		while (m < j && same_inode(&s->e[ix[k]], &s->e[ix[m]]))
			m++;
		if (m - k >= 2)
			share_data(s, ix + k, m - k);
		k = m;
	}
	for (i = 0; i < s->n; i++)
		ix[i] = (uint32_t)i;
	qsort_r(ix, s->n, sizeof(*ix), cmp_name, s->e);
	s->by_name = ix;
	return 0;
}

int diff_side_read(struct diff_side *s, int fd, const char *name,
		   const char *what, uint64_t off, uint64_t len,
		   size_t *total, struct ek_error *err)
{
	struct cpio_reader *r = malloc(sizeof(*r));
	struct cpio_entry *c = malloc(sizeof(*c));
	uint8_t *buf = malloc(READ_CHUNK > DIFF_APP_MAX ? READ_CHUNK : DIFF_APP_MAX);
	int ret;

	if (!r || !c || !buf) {
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
		goto out;
	}
	ret = cpio_reader_init(r, fd, off, len, name, err);
	r->what = what;
	while (!ret && (ret = cpio_reader_next(r, c, err)) == 1)
		ret = add_entry(s, fd, name, c, buf, total, err);
	if (!ret && r->compressed) {
		s->compressed = r->compressed;
		s->comp_off = r->compressed_offset - off;
		s->comp_len = off + len - r->compressed_offset;
		ret = diff_digest_range(EVP_sha256(), fd, name,
					 r->compressed_offset, s->comp_len,
				   buf, s->comp_sha, err);
	}
	if (!ret)
		ret = index_side(s, err);
out:
	free(r);
	free(c);
	free(buf);
	return ret;
}

/* ---- pairing ---- */

static bool same_str(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && (al == 0 || !memcmp(a, b, al));
}

static const struct diff_entry *leader(const struct diff_side *s,
				       const struct diff_entry *e)
{
	return e->group >= 0 ? &s->e[e->group] : NULL;
}

static uint32_t compare_entries(const struct diff_side *sa,
				const struct diff_entry *a,
				const struct diff_side *sb,
				const struct diff_entry *b)
{
	const struct diff_entry *la = leader(sa, a), *lb = leader(sb, b);
	uint32_t f = 0, ta = a->mode & CPIO_IFMT, tb = b->mode & CPIO_IFMT;

	if (ta != tb)
		f |= DF_TYPE;
	if ((a->mode ^ b->mode) & 07777)
		f |= DF_MODE;
	if (a->uid != b->uid)
		f |= DF_UID;
	if (a->gid != b->gid)
		f |= DF_GID;
	if (a->mtime != b->mtime)
		f |= DF_MTIME;
	if (a->size != b->size)
		f |= DF_SIZE;
	if (ta == CPIO_IFREG && tb == CPIO_IFREG &&
	    memcmp(a->sha, b->sha, DIFF_SHA_LEN))
		f |= DF_CONTENT;
	if (ta == CPIO_IFLNK && tb == CPIO_IFLNK &&
	    !same_str(a->link, a->link_len, b->link, b->link_len))
		f |= DF_TARGET;
	if ((ta == CPIO_IFCHR || ta == CPIO_IFBLK) && ta == tb &&
	    (a->rdevmajor != b->rdevmajor || a->rdevminor != b->rdevminor))
		f |= DF_RDEV;
	if (!la != !lb || (la && !same_str(la->name, la->name_len, lb->name,
					    lb->name_len)))
		f |= DF_LINK;
	if (a->nlink != b->nlink)
		f |= DF_NLINK;
	if (a->ino != b->ino)
		f |= DF_INO;
	if (a->devmajor != b->devmajor || a->devminor != b->devminor)
		f |= DF_DEV;
	return f;
}

static int push_change(struct diff_ramdisk *d, size_t *alloc,
		       const struct diff_entry *a, const struct diff_entry *b,
		       uint32_t fields, struct ek_error *err)
{
	struct diff_change *n = ek_grow(d->ch, d->nch, alloc, sizeof(*n), 64);

	if (!n)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	d->ch = n;
	d->ch[d->nch].a = a;
	d->ch[d->nch].b = b;
	d->ch[d->nch].fields = fields;
	d->nch++;
	return 0;
}

/* Pairs (A pos, B pos) sorted by A pos: the entries off the longest run
 * whose B positions increase are the ones that moved (the fewest moves
 * that turn one order into the other). Marks them in moved[A pos]. */
static int mark_moved(const uint32_t *bpos, size_t n, const uint32_t *apos,
		      uint8_t *moved, struct ek_error *err)
{
	uint32_t *tail = malloc((n ? n : 1) * sizeof(*tail));  /* indexes */
	uint32_t *prev = malloc((n ? n : 1) * sizeof(*prev));
	size_t len = 0;

	if (!tail || !prev) {
		free(tail);
		free(prev);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		size_t lo = 0, hi = len;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (bpos[tail[mid]] < bpos[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[i] = lo ? tail[lo - 1] : UINT32_MAX;
		tail[lo] = (uint32_t)i;
		if (lo == len)
			len++;
	}
	for (size_t i = 0; i < n; i++)
		moved[apos[i]] = 1;
	for (uint32_t k = len ? tail[len - 1] : UINT32_MAX; k != UINT32_MAX;
	     k = prev[k])
		moved[apos[k]] = 0;
	free(tail);
	free(prev);
	return 0;
}

/* For each paired entry, by A position: its B position. */
static int find_moves(const struct diff_side *a, const struct diff_side *b,
		      uint8_t *moved, struct ek_error *err)
{
	uint32_t *bpos = malloc((a->n ? a->n : 1) * sizeof(*bpos));
	uint32_t *apos = malloc((a->n ? a->n : 1) * sizeof(*apos));
	uint32_t *pair = malloc((a->n ? a->n : 1) * sizeof(*pair));
	size_t i = 0, j = 0, n = 0;
	int ret;

	if (!bpos || !apos || !pair) {
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < a->n; k++)
		pair[k] = UINT32_MAX;
	while (i < a->n && j < b->n) {
		const struct diff_entry *x = &a->e[a->by_name[i]];
		const struct diff_entry *y = &b->e[b->by_name[j]];
		size_t m = x->name_len < y->name_len ? x->name_len : y->name_len;
		int c = memcmp(x->name, y->name, m);

		if (!c && x->name_len != y->name_len)
			c = x->name_len < y->name_len ? -1 : 1;
		if (c < 0)
			i++;
		else if (c > 0)
			j++;
		else
			pair[a->by_name[i++]] = b->by_name[j++];
	}
	for (size_t k = 0; k < a->n; k++)
		if (pair[k] != UINT32_MAX) {
			apos[n] = (uint32_t)k;
			bpos[n++] = pair[k];
		}
	ret = mark_moved(bpos, n, apos, moved, err);
out:
	free(bpos);
	free(apos);
	free(pair);
	return ret;
}

static int name_cmp(const struct diff_entry *x, const struct diff_entry *y)
{
	size_t m = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, m);

	if (!c && x->name_len != y->name_len)
		c = x->name_len < y->name_len ? -1 : 1;
	return c;
}

static int merge(struct diff_ramdisk *d, const uint8_t *moved,
		 struct ek_error *err)
{
	const struct diff_side *a = &d->a, *b = &d->b;
	size_t i = 0, j = 0, alloc = 0;
	int ret = 0;

	while (!ret && (i < a->n || j < b->n)) {
		const struct diff_entry *x = i < a->n ? &a->e[a->by_name[i]] : NULL;
		const struct diff_entry *y = j < b->n ? &b->e[b->by_name[j]] : NULL;
		int c = !x ? 1 : !y ? -1 : name_cmp(x, y);
		uint32_t f;

		if (c < 0) {
			ret = push_change(d, &alloc, x, NULL, 0, err);
			i++;
			continue;
		}
		if (c > 0) {
			ret = push_change(d, &alloc, NULL, y, 0, err);
			j++;
			continue;
		}
		f = compare_entries(a, x, b, y) | (moved[x->pos] ? DF_MOVED : 0);
		if (f)
			ret = push_change(d, &alloc, x, y, f, err);
		i++;
		j++;
	}
	return ret;
}

/* Raw inode and device numbers follow from the order of the entries
 * (eifkit and nitro-cli number them as they write): they are worth
 * naming only when nothing else explains a difference. */
static void drop_raw(struct diff_ramdisk *d)
{
	bool other = d->compressed_differs;
	size_t k = 0;

	for (size_t i = 0; i < d->nch && !other; i++)
		other = !d->ch[i].a || !d->ch[i].b ||
			(d->ch[i].fields & ~(uint32_t)(DF_INO | DF_DEV));
	for (size_t i = 0; i < d->nch; i++) {
		struct diff_change *c = &d->ch[i];

		if (other && c->a && c->b)
			c->fields &= ~(uint32_t)(DF_INO | DF_DEV);
		if (!c->a || !c->b || c->fields)
			d->ch[k++] = *c;
	}
	d->nch = k;
}

static void count(struct diff_ramdisk *d)
{
	for (size_t i = 0; i < d->nch; i++) {
		const struct diff_change *c = &d->ch[i];

		if (!c->a)
			d->added++;
		else if (!c->b)
			d->removed++;
		else if (c->fields & ~(uint32_t)DF_MOVED)
			d->changed++;
		else
			d->moved++;
	}
}

/* The last top-level cmd, env and workdir (the kernel unpacks in order:
 * the last one wins), and which of them differ. */
static void compare_app(struct diff_ramdisk *d)
{
	static const char *const names[3] = { "cmd", "env", "workdir" };

	for (int k = 0; k < 3; k++) {
		const struct diff_entry *x = NULL, *y = NULL;

		for (size_t i = 0; i < d->a.n; i++)
			if (d->a.e[i].app && !strcmp(d->a.e[i].name, names[k]))
				x = &d->a.e[i];
		for (size_t i = 0; i < d->b.n; i++)
			if (d->b.e[i].app && !strcmp(d->b.e[i].name, names[k]))
				y = &d->b.e[i];
		d->app_a[k] = x;
		d->app_b[k] = y;
		if (!x != !y || (x && !same_str((const char *)x->app, x->app_len,
					        (const char *)y->app, y->app_len)))
			d->app |= 1u << k;
	}
}

int diff_ramdisk_compare(struct diff_ramdisk *d, struct ek_error *err)
{
	uint8_t *moved = calloc(d->a.n ? d->a.n : 1, 1);
	int ret;

	if (!moved)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	d->walked = true;
	d->compressed_differs =
		!d->a.compressed != !d->b.compressed ||
		(d->a.compressed && (d->a.comp_len != d->b.comp_len ||
				     memcmp(d->a.comp_sha, d->b.comp_sha,
					    DIFF_SHA_LEN)));
	ret = find_moves(&d->a, &d->b, moved, err);
	if (!ret)
		ret = merge(d, moved, err);
	free(moved);
	if (ret)
		return ret;
	drop_raw(d);
	count(d);
	compare_app(d);
	d->encoding_only = d->nch == 0 && !d->compressed_differs;
	return 0;
}
