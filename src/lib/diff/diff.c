/* diff.c: open two EIFs or two cpio files with the strict readers and
 * compare them part by part: header, section list, kernel, cmdline,
 * metadata key by key, signature, and each ramdisk entry by entry. */
#include "base/internal.h"

#include <pthread.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/io.h"
#include "diff/diff.h"
#include "diff/diff_internal.h"


unsigned diff_section_pcrs(uint16_t type, unsigned ramdisk_index)
{
	switch (type) {
	case EIF_SEC_KERNEL:
	case EIF_SEC_CMDLINE:
		return 1u << 0 | 1u << 1;
	case EIF_SEC_RAMDISK:
		return 1u << 0 | (ramdisk_index ? 1u << 2 : 1u << 1);
	}
	return 0;
}

/* SHA-384 of len bytes at off (a section's data, or a whole cpio file). */
static int sha384_range(int fd, const char *name, uint64_t off, uint64_t len,
			uint8_t out[DIFF_SEC_SHA_LEN], struct ek_error *err)
{
	uint8_t *buf = malloc(DIFF_READ_CHUNK);
	int ret = buf ? diff_digest_range(EVP_sha384(), fd, name, off, len,
					  buf, out, err)
		      : ek_fail(err, EK_ENOMEM, "out of memory");

	free(buf);
	return ret;
}

/* The signing certificate's subject and SHA-256 fingerprint, from the
 * PEM the signature section embeds (sign_parse_section has checked it). */
static int cert_facts(struct diff_file *f, struct ek_error *err)
{
	BIO *in = BIO_new_mem_buf(f->sig.cert_pem, (int)f->sig.cert_pem_len);
	BIO *mem = BIO_new(BIO_s_mem());
	X509 *x = in ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
	unsigned int n = DIFF_SHA_LEN;
	char *p = NULL;
	long len;
	int ret = 0;

	if (!x || !mem || X509_NAME_print_ex(mem, X509_get_subject_name(x), 0,
					     XN_FLAG_RFC2253) < 0 ||
	    !X509_digest(x, EVP_sha256(), f->fingerprint, &n)) {
		ret = ek_fail_ssl(err, EK_EFORMAT, "'%s': signing certificate",
				  f->path);
		goto out;
	}
	len = BIO_get_mem_data(mem, &p);
	f->subject = malloc((size_t)len + 1);
	if (!f->subject) {
		ret = ek_fail(err, EK_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(f->subject, p, (size_t)len);
	f->subject[len] = '\0';
out:
	X509_free(x);
	BIO_free(in);
	BIO_free(mem);
	return ret;
}

static int open_eif(struct diff_file *f, struct ek_error *err)
{
	struct eif_image *img = &f->img;
	int ret = eif_read_fd(f->fd, f->path, img, 0, err);

	for (unsigned i = 0; !ret && i < img->nsec; i++)
		ret = sha384_range(f->fd, f->path, img->sec[i].offset + EIF_SEC_HDR_SIZE,
				   img->sec[i].size, f->sha[i], err);
	if (!ret && img->metadata_buf) {
		ret = metadata_parse(img->metadata_buf, img->metadata_len,
				     &f->meta, err);
		if (ret)
			ek_error_prefix(err, "'%s'", f->path);
		f->have_meta = !ret;
	}
	if (!ret && img->signature_buf) {
		ret = sign_parse_section(img->signature_buf, img->signature_len,
					 &f->sig, err);
		if (ret)
			ek_error_prefix(err, "'%s': signature section", f->path);
		f->have_sig = !ret;
		if (!ret)
			ret = cert_facts(f, err);
	}
	return ret;
}

/* ---- header and sections ---- */

static void compare_header(struct diff_result *r)
{
	const struct eif_header *a = &r->a.img.hdr, *b = &r->b.img.hdr;

	if (a->version != b->version)
		r->header |= DH_VERSION;
	if (a->flags != b->flags)
		r->header |= DH_ARCH;
	if (a->default_mem != b->default_mem)
		r->header |= DH_MEM;
	if (a->default_cpus != b->default_cpus)
		r->header |= DH_CPUS;
	if (a->num_sections != b->num_sections)
		r->header |= DH_NSEC;
	if (a->reserved != b->reserved)
		r->header |= DH_RESERVED;
	if (a->unused != b->unused)
		r->header |= DH_UNUSED;
	if (a->crc32 != b->crc32)
		r->header |= DH_CRC;
}

static bool same_section(const struct diff_file *a, int i,
			 const struct diff_file *b, int j)
{
	if (i < 0 || j < 0)
		return i == j;
	return a->img.sec[i].size == b->img.sec[j].size &&
	       !memcmp(a->sha[i], b->sha[j], DIFF_SEC_SHA_LEN);
}

/* The types of the sections both files have, in file order: a section
 * that only one has (a signature, a third ramdisk) is a difference of
 * its own, not one of order. */
static unsigned paired_types(const struct eif_image *x,
			     const struct eif_image *y, uint16_t *out)
{
	unsigned n = 0, rd = 0, rd_max = x->nramdisks < y->nramdisks ?
					  x->nramdisks : y->nramdisks;

	for (unsigned i = 0; i < x->nsec; i++) {
		uint16_t t = x->sec[i].type;

		if ((t == EIF_SEC_RAMDISK && rd++ >= rd_max) ||
		    (t == EIF_SEC_SIGNATURE && y->signature < 0) ||
		    (t == EIF_SEC_METADATA && y->metadata < 0))
			continue;
		out[n++] = t;
	}
	return n;
}

static void compare_sections(struct diff_result *r)
{
	const struct eif_image *a = &r->a.img, *b = &r->b.img;
	uint16_t ta[EIF_MAX_SECTIONS], tb[EIF_MAX_SECTIONS];
	unsigned na = paired_types(a, b, ta), nb = paired_types(b, a, tb);

	r->order = na != nb || memcmp(ta, tb, na * sizeof(ta[0]));
	r->kernel = !same_section(&r->a, a->kernel, &r->b, b->kernel);
	r->cmdline = !same_section(&r->a, a->cmdline, &r->b, b->cmdline);
	r->metadata = !same_section(&r->a, a->metadata, &r->b, b->metadata);
}

static void compare_signature(struct diff_result *r)
{
	const struct diff_file *a = &r->a, *b = &r->b;

	if (!a->have_sig && b->have_sig)
		r->sig = DS_ADDED;
	else if (a->have_sig && !b->have_sig)
		r->sig = DS_REMOVED;
	else if (a->have_sig && !same_section(a, a->img.signature, b,
					      b->img.signature))
		r->sig = a->sig.cert_pem_len != b->sig.cert_pem_len ||
			 memcmp(a->sig.cert_pem, b->sig.cert_pem,
				a->sig.cert_pem_len) ? DS_CERT : DS_BYTES;
}

static void compare_pcrs(struct diff_result *r)
{
	const struct diff_file *a = &r->a, *b = &r->b;

	for (int i = 0; i < 3; i++)
		if (memcmp(a->img.pcr[i], b->img.pcr[i], PCR_LEN))
			r->pcrs |= 1u << i;
	if (a->have_sig != b->have_sig ||
	    (a->have_sig && memcmp(a->sig.pcr8, b->sig.pcr8, SIGN_PCR_LEN)))
		r->pcrs |= 1u << 8;
}

/* ---- metadata, key by key ---- */

static char *value_text(const struct json_value *v, size_t *len)
{
	struct strbuf sb;

	strbuf_init(&sb);
	if (v->type == JSON_STRING)
		strbuf_add(&sb, v->str.ptr, v->str.len);
	else
		json_write(&sb, v, -1);
	if (!strbuf_ok(&sb)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, len);
}

static int push_kv(struct diff_result *r, const char *prefix,
		   const struct json_member *m, const struct json_value *va,
		   const struct json_value *vb, struct ek_error *err)
{
	struct diff_kv *kv, *n = ek_grow(r->kv, r->nkv, &r->kv_alloc, sizeof(*n),
					 8);
	struct strbuf key;

	if (!n)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	r->kv = n;
	kv = &r->kv[r->nkv++];
	memset(kv, 0, sizeof(*kv));
	strbuf_init(&key);
	strbuf_addstr(&key, prefix);
	strbuf_add(&key, m->key, m->key_len);
	kv->key = strbuf_ok(&key) ? strbuf_detach(&key, &kv->key_len) : NULL;
	strbuf_release(&key);
	if (va)
		kv->a = value_text(va, &kv->a_len);
	if (vb)
		kv->b = value_text(vb, &kv->b_len);
	if (!kv->key || (va && !kv->a) || (vb && !kv->b))
		return ek_fail(err, EK_ENOMEM, "out of memory");
	return 0;
}

static bool same_value(const struct json_value *a, const struct json_value *b)
{
	struct strbuf x, y;
	bool same;

	strbuf_init(&x);
	strbuf_init(&y);
	json_write(&x, a, -1);
	json_write(&y, b, -1);
	same = strbuf_ok(&x) && strbuf_ok(&y) && x.len == y.len &&
	       !memcmp(x.buf, y.buf, x.len);
	strbuf_release(&x);
	strbuf_release(&y);
	return same;
}

static int key_cmp(const struct json_member *a, const struct json_member *b)
{
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);

	if (c || a->key_len == b->key_len)
		return c;
	return a->key_len < b->key_len ? -1 : 1;
}

/* The objects BuildMetadata (its keys shown alone, as nitro-cli shows
 * them), DockerInfo and CustomMetadata are compared member by member. */
static const char *descend_prefix(const struct json_member *m)
{
	if (!strcmp(m->key, "BuildMetadata"))
		return "";
	if (!strcmp(m->key, "DockerInfo"))
		return "DockerInfo.";
	if (!strcmp(m->key, "CustomMetadata"))
		return "CustomMetadata.";
	return NULL;
}

static int compare_objects(struct diff_result *r, const char *prefix,
			   const struct json_value *a,
			   const struct json_value *b, bool top,
			   struct ek_error *err);

static int compare_member(struct diff_result *r, const char *prefix,
			  const struct json_member *m,
			  const struct json_value *va,
			  const struct json_value *vb, bool top,
			  struct ek_error *err)
{
	const char *sub = top ? descend_prefix(m) : NULL;

	if (va && vb && same_value(va, vb))
		return 0;
	if (sub && (!va || va->type == JSON_OBJECT) &&
	    (!vb || vb->type == JSON_OBJECT))
		return compare_objects(r, sub, va, vb, false, err);
	return push_kv(r, prefix, m, va, vb, err);
}

/* a or b may be NULL (no metadata, or no such object). Members are
 * sorted by key bytes (json_parse keeps them so). */
static int compare_objects(struct diff_result *r, const char *prefix,
			   const struct json_value *a,
			   const struct json_value *b, bool top,
			   struct ek_error *err)
{
	size_t na = a ? a->obj.len : 0, nb = b ? b->obj.len : 0, i = 0, j = 0;
	int ret = 0;

	while (!ret && (i < na || j < nb)) {
		const struct json_member *x = i < na ? &a->obj.members[i] : NULL;
		const struct json_member *y = j < nb ? &b->obj.members[j] : NULL;
		int c = !x ? 1 : !y ? -1 : key_cmp(x, y);

		if (c < 0)
			ret = compare_member(r, prefix, x, x->value, NULL, top, err);
		else if (c > 0)
			ret = compare_member(r, prefix, y, NULL, y->value, top, err);
		else
			ret = compare_member(r, prefix, x, x->value, y->value, top,
					     err);
		i += c <= 0;
		j += c >= 0;
	}
	return ret;
}

/* ---- ramdisks ---- */

static int nth_ramdisk(const struct eif_image *img, unsigned n)
{
	for (unsigned i = 0; i < img->nsec; i++)
		if (img->sec[i].type == EIF_SEC_RAMDISK && n-- == 0)
			return (int)i;
	return -1;
}

/* ---- the two files at once ---- */

/* One file's share of a step. The work is hashing, so the two files'
 * shares run at once, the second on a thread of its own: two cores. */
struct task {
	int (*fn)(struct task *t, struct ek_error *err);
	struct diff_file *f;
	struct diff_side *side;
	int sec;                /* ramdisk section, or -1: none (-2: the file) */
	const char *what;
	size_t *total;
	int ret;
	struct ek_error err;
};

static void *task_thread(void *p)
{
	struct task *t = p;

	t->ret = t->fn(t, &t->err);
	return NULL;
}

/* Run a here and b beside it; a's error first, so that the message does
 * not depend on which thread ended first. */
static int run_pair(struct task *a, struct task *b, struct ek_error *err)
{
	pthread_t th;
	bool threaded = pthread_create(&th, NULL, task_thread, b) == 0;
	int ret = a->fn(a, err);

	if (threaded)
		pthread_join(th, NULL);
	else
		task_thread(b);
	if (!ret && b->ret) {
		if (err)
			*err = b->err;
		ret = b->ret;
	}
	return ret;
}

static int task_open(struct task *t, struct ek_error *err)
{
	return open_eif(t->f, err);
}

static int task_sha(struct task *t, struct ek_error *err)
{
	return sha384_range(t->f->fd, t->f->path, 0, t->f->size, t->f->sha[0],
			    err);
}

static int task_side(struct task *t, struct ek_error *err)
{
	const struct diff_file *f = t->f;

	if (t->sec == -1)
		return 0;
	if (t->sec == -2)
		return diff_side_read(t->side, f->fd, f->path, NULL, 0, f->size,
				      t->total, err);
	return diff_side_read(t->side, f->fd, f->path, t->what,
			      f->img.sec[t->sec].offset + EIF_SEC_HDR_SIZE,
			      f->img.sec[t->sec].size, t->total, err);
}

static int read_sides(struct diff_result *r, struct diff_ramdisk *d,
		      const char *what, size_t *ta, size_t *tb,
		      struct ek_error *err)
{
	struct task a = { .fn = task_side, .f = &r->a, .side = &d->a,
			  .sec = r->is_eif ? d->sec_a : -2, .what = what,
			  .total = ta };
	struct task b = { .fn = task_side, .f = &r->b, .side = &d->b,
			  .sec = r->is_eif ? d->sec_b : -2, .what = what,
			  .total = tb };

	return run_pair(&a, &b, err);
}

static int compare_ramdisks(struct diff_result *r, struct ek_error *err)
{
	unsigned n = r->a.img.nramdisks > r->b.img.nramdisks ?
		     r->a.img.nramdisks : r->b.img.nramdisks;
	size_t ta = 0, tb = 0;
	int ret = 0;

	r->rd = calloc(n, sizeof(*r->rd));
	if (!r->rd)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	r->nrd = n;
	for (unsigned i = 0; !ret && i < n; i++) {
		struct diff_ramdisk *d = &r->rd[i];
		char what[32];

		d->index = i;
		d->sec_a = nth_ramdisk(&r->a.img, i);
		d->sec_b = nth_ramdisk(&r->b.img, i);
		if (n == 2)
			d->label = i == 0 ? "system" : "user";
		if (same_section(&r->a, d->sec_a, &r->b, d->sec_b))
			continue;
		snprintf(what, sizeof(what), "ramdisk %u", i);
		ret = read_sides(r, d, what, &ta, &tb, err);
		if (!ret)
			ret = diff_ramdisk_compare(d, err);
		/* only what the report needs stays: entries that changed
		 * point into the sides, so those stay too */
	}
	return ret;
}

/* ---- the two kinds of input ---- */

static int diff_eifs(struct diff_result *r, struct ek_error *err)
{
	struct task a = { .fn = task_open, .f = &r->a };
	struct task b = { .fn = task_open, .f = &r->b };
	int ret = run_pair(&a, &b, err);

	if (ret)
		return ret;
	compare_header(r);
	compare_sections(r);
	compare_signature(r);
	compare_pcrs(r);
	if (r->metadata)
		ret = compare_objects(r, "", r->a.have_meta ? r->a.meta.root : NULL,
				      r->b.have_meta ? r->b.meta.root : NULL,
				      true, err);
	if (!ret)
		ret = compare_ramdisks(r, err);
	if (ret)
		return ret;
	r->identical = !r->header && !r->order && !r->kernel && !r->cmdline &&
		       !r->metadata && !r->sig;
	for (unsigned i = 0; i < r->nrd; i++)
		if (r->rd[i].walked)
			r->identical = false;
	return 0;
}

static int diff_cpios(struct diff_result *r, struct ek_error *err)
{
	struct diff_ramdisk *d;
	size_t ta = 0, tb = 0;
	struct task a = { .fn = task_sha, .f = &r->a };
	struct task b = { .fn = task_sha, .f = &r->b };
	int ret = run_pair(&a, &b, err);

	if (ret)
		return ret;
	d = r->rd = calloc(1, sizeof(*r->rd));
	if (!d)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	r->nrd = 1;
	d->sec_a = d->sec_b = -1;
	r->identical = r->a.size == r->b.size &&
		       !memcmp(r->a.sha[0], r->b.sha[0], DIFF_SEC_SHA_LEN);
	if (r->identical)
		return 0;
	ret = read_sides(r, d, NULL, &ta, &tb, err);
	return ret ? ret : diff_ramdisk_compare(d, err);
}

/* Opens f and says whether it starts with the EIF magic. */
static int open_input(struct diff_file *f, bool *is_eif, struct ek_error *err)
{
	uint8_t magic[4];
	ssize_t got;

	f->fd = io_open_input(f->path, 0, &f->size, err);
	if (f->fd < 0)
		return f->fd;
	if (f->size == UINT64_MAX)
		return ek_fail(err, EK_EINVAL, "'%s': not a regular file", f->path);
	got = io_pread_full(f->fd, magic, sizeof(magic), 0);
	if (got < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", f->path);
	*is_eif = got == (ssize_t)sizeof(magic) && !memcmp(magic, EIF_MAGIC, 4);
	return 0;
}

int diff_files(const char *path_a, const char *path_b,
	       struct diff_result **ret, struct ek_error *err)
{
	struct diff_result *r = calloc(1, sizeof(*r));
	bool ea = false, eb = false;
	int rc;

	*ret = r;
	if (!r)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	r->a.path = path_a;
	r->b.path = path_b;
	r->a.fd = r->b.fd = -1;
	if ((rc = open_input(&r->a, &ea, err)) || (rc = open_input(&r->b, &eb, err)))
		return rc;
	if (ea != eb)
		return ek_fail(err, EK_EINVAL, "'%s' is %s and '%s' %s: give two "
			       "EIFs or two cpio archives", path_a,
			       ea ? "an EIF" : "not an EIF", path_b,
			       eb ? "an EIF" : "not");
	r->is_eif = ea;
	return ea ? diff_eifs(r, err) : diff_cpios(r, err);
}

static void file_release(struct diff_file *f, bool is_eif)
{
	if (f->have_sig)
		sig_info_release(&f->sig);
	if (f->have_meta)
		metadata_release(&f->meta);
	if (is_eif)
		eif_image_release(&f->img);
	free(f->subject);
	if (f->fd >= 0)
		close(f->fd);
}

void diff_free(struct diff_result *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->nrd; i++) {
		diff_side_release(&r->rd[i].a);
		diff_side_release(&r->rd[i].b);
		free(r->rd[i].ch);
	}
	free(r->rd);
	for (size_t i = 0; i < r->nkv; i++) {
		free(r->kv[i].key);
		free(r->kv[i].a);
		free(r->kv[i].b);
	}
	free(r->kv);
	file_release(&r->a, r->is_eif);
	file_release(&r->b, r->is_eif);
	free(r);
}
