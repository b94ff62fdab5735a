/* diff_json.c: the report as one JSON object (docs/eifkit-diff.md has
 * the schema). Written as it goes, one entry per line, so that a diff of
 * many entries is never held whole. Strings from the inputs are escaped
 * with text_escape first (spaces kept), then as JSON: a script sees what
 * a person sees, and always valid UTF-8. */
#include "base/internal.h"

#include "base/io.h"
#include "base/text.h"
#include "diff/diff.h"
#include "diff/diff_emit.h"
#include "ramdisk/cpio_read.h"

#define DIFF_JSON_SCHEMA 1

/* A JSON string of text_escape(s): the escaped text holds no control
 * characters and is UTF-8, so only '"' and '\\' need more. */
static void jstr(struct strbuf *sb, const char *s, size_t len)
{
	struct strbuf t;

	strbuf_init(&t);
	text_escape(&t, s, len, TEXT_KEEP_SPACES);
	strbuf_addch(sb, '"');
	for (size_t i = 0; i < t.len; i++) {
		if (t.buf[i] == '"' || t.buf[i] == '\\')
			strbuf_addch(sb, '\\');
		strbuf_addch(sb, t.buf[i]);
	}
	strbuf_addch(sb, '"');
	if (!strbuf_ok(&t))
		sb->oom = true;
	strbuf_release(&t);
}

static void jhex(struct strbuf *sb, const uint8_t *p, size_t n)
{
	strbuf_addch(sb, '"');
	diff_hex(sb, p, n);
	strbuf_addch(sb, '"');
}

static void jpcrs(struct strbuf *sb, unsigned pcrs)
{
	static const int idx[] = { 0, 1, 2, 8 };
	const char *sep = "";

	strbuf_addch(sb, '[');
	for (size_t i = 0; i < ARRAY_SIZE(idx); i++)
		if (pcrs & 1u << idx[i]) {
			strbuf_addf(sb, "%s\"PCR%d\"", sep, idx[i]);
			sep = ", ";
		}
	strbuf_addch(sb, ']');
}

/* ---- entries ---- */

static void jentry(struct strbuf *sb, const struct diff_side *s,
		   const struct diff_entry *x)
{
	uint32_t t = x->mode & CPIO_IFMT;

	strbuf_addf(sb, "{\"type\": \"%s\", \"mode\": \"%04o\", \"uid\": %u, "
		    "\"gid\": %u, \"mtime\": %u, \"size\": %u, \"sha256\": ",
		    diff_type_word(x->mode), x->mode & 07777, x->uid, x->gid,
		    x->mtime, x->size);
	if (t == CPIO_IFREG)
		jhex(sb, x->sha, DIFF_SHA_LEN);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ", \"target\": ");
	if (t == CPIO_IFLNK)
		jstr(sb, x->link, x->link_len);
	else
		strbuf_addstr(sb, "null");
	if (t == CPIO_IFCHR || t == CPIO_IFBLK)
		strbuf_addf(sb, ", \"rdev\": [%u, %u]", x->rdevmajor, x->rdevminor);
	else
		strbuf_addstr(sb, ", \"rdev\": null");
	strbuf_addf(sb, ", \"nlink\": %u, \"hardlink\": ", x->nlink);
	if (x->group >= 0)
		jstr(sb, s->e[x->group].name, s->e[x->group].name_len);
	else
		strbuf_addstr(sb, "null");
	strbuf_addf(sb, ", \"position\": %u, \"ino\": %u, \"dev\": [%u, %u]}",
		    x->pos, x->ino, x->devmajor, x->devminor);
}

static void jchange(struct strbuf *sb, const struct diff_ramdisk *d,
		    const struct diff_change *c)
{
	const struct diff_entry *x = c->a ? c->a : c->b;
	const char *sep = "";

	strbuf_addstr(sb, "{\"path\": ");
	jstr(sb, x->name, x->name_len);
	strbuf_addf(sb, ", \"change\": \"%s\", \"fields\": [",
		    !c->a ? "added" : !c->b ? "removed" :
		    c->fields & ~(uint32_t)DF_MOVED ? "changed" : "moved");
	for (int f = 0; f < DF_NFIELDS; f++)
		if (c->fields & 1u << f) {
			strbuf_addf(sb, "%s\"%s\"", sep, diff_field_names[f]);
			sep = ", ";
		}
	strbuf_addstr(sb, "], \"old\": ");
	if (c->a)
		jentry(sb, &d->a, c->a);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ", \"new\": ");
	if (c->b)
		jentry(sb, &d->b, c->b);
	else
		strbuf_addstr(sb, "null");
	strbuf_addch(sb, '}');
}

/* ---- cmd, env, workdir ---- */

/* The lines of an app file as a JSON array (null when absent); one
 * line (workdir) as a string. */
static void jlines(struct strbuf *sb, const struct diff_entry *x, bool one)
{
	const char *s = x ? (const char *)x->app : NULL;
	const char *end = s ? s + x->app_len : NULL;
	const char *sep = "";

	if (!x) {
		strbuf_addstr(sb, "null");
		return;
	}
	if (!one)
		strbuf_addch(sb, '[');
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;

		strbuf_addstr(sb, sep);
		jstr(sb, s, (size_t)(e - s));
		sep = ", ";
		s = nl ? nl + 1 : end;
		if (one)
			return;
	}
	if (one)
		strbuf_addstr(sb, "\"\"");
	else
		strbuf_addch(sb, ']');
}

static void japp(struct strbuf *sb, const struct diff_ramdisk *d)
{
	static const char *const keys[3] = { "argv", "env", "workdir" };
	const char *sep = "";

	strbuf_addstr(sb, "      \"app\": {");
	for (int k = 0; k < 3; k++) {
		if (!(d->app & 1u << k))
			continue;
		strbuf_addf(sb, "%s\"%s\": {\"old\": ", sep, keys[k]);
		jlines(sb, d->app_a[k], k == 2);
		strbuf_addstr(sb, ", \"new\": ");
		jlines(sb, d->app_b[k], k == 2);
		strbuf_addch(sb, '}');
		sep = ", ";
	}
	strbuf_addstr(sb, "},\n");
}

static void jramdisk(struct emit *e, const struct diff_result *r,
		     const struct diff_ramdisk *d, bool last)
{
	struct strbuf *sb = &e->sb;

	strbuf_addf(sb, "    {\n      \"index\": %u,\n      \"label\": ", d->index);
	if (d->label)
		strbuf_addf(sb, "\"%s\"", d->label);
	else
		strbuf_addstr(sb, "null");
	strbuf_addf(sb, ",\n      \"old_section\": %d,\n      \"new_section\": %d,"
		    "\n      \"pcrs\": ", d->sec_a, d->sec_b);
	jpcrs(sb, r->is_eif ? diff_section_pcrs(EIF_SEC_RAMDISK, d->index) : 0);
	strbuf_addf(sb, ",\n      \"status\": \"%s\",\n      \"added\": %zu,\n"
		    "      \"removed\": %zu,\n      \"changed\": %zu,\n"
		    "      \"moved\": %zu,\n      \"encoding_only\": %s,\n"
		    "      \"compressed_differs\": %s,\n",
		    d->sec_a < 0 && r->is_eif ? "added" :
		    d->sec_b < 0 && r->is_eif ? "removed" : "changed",
		    d->added, d->removed, d->changed, d->moved,
		    d->encoding_only ? "true" : "false",
		    d->compressed_differs ? "true" : "false");
	japp(sb, d);
	strbuf_addstr(sb, "      \"entries\": [");
	for (size_t i = 0; i < d->nch; i++) {
		strbuf_addstr(sb, i ? ",\n        " : "\n        ");
		jchange(sb, d, &d->ch[i]);
		emit_flush(e, false);
	}
	strbuf_addstr(sb, d->nch ? "\n      ]\n" : "]\n");
	strbuf_addf(sb, "    }%s\n", last ? "" : ",");
}

/* ---- EIF parts ---- */

static void jpcr_values(struct strbuf *sb, const struct diff_result *r)
{
	const struct diff_file *a = &r->a, *b = &r->b;

	strbuf_addstr(sb, "  \"pcrs\": {");
	for (int i = 0; i < 3; i++) {
		strbuf_addf(sb, "%s\"PCR%d\": {\"old\": ", i ? ", " : "", i);
		jhex(sb, a->img.pcr[i], PCR_LEN);
		strbuf_addstr(sb, ", \"new\": ");
		jhex(sb, b->img.pcr[i], PCR_LEN);
		strbuf_addch(sb, '}');
	}
	strbuf_addstr(sb, ", \"PCR8\": {\"old\": ");
	if (a->have_sig)
		jhex(sb, a->sig.pcr8, PCR_LEN);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ", \"new\": ");
	if (b->have_sig)
		jhex(sb, b->sig.pcr8, PCR_LEN);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, "}},\n");
}

static void jheader(struct strbuf *sb, const struct diff_result *r)
{
	const struct eif_header *a = &r->a.img.hdr, *b = &r->b.img.hdr;
	uint64_t va[8] = { a->version, a->flags, a->default_mem,
			   a->default_cpus, a->num_sections, a->reserved,
			   a->unused, a->crc32 };
	uint64_t vb[8] = { b->version, b->flags, b->default_mem,
			   b->default_cpus, b->num_sections, b->reserved,
			   b->unused, b->crc32 };
	const char *sep = "";

	strbuf_addstr(sb, "  \"header\": [");
	for (int i = 0; i < 8; i++) {
		if (!(r->header & 1u << i))
			continue;
		strbuf_addf(sb, "%s{\"field\": \"%s\", ", sep, diff_header_names[i]);
		if (i == 1)
			strbuf_addf(sb, "\"old\": \"%s\", \"new\": \"%s\"}",
				    va[i] & EIF_FLAG_ARM64 ? "aarch64" : "x86_64",
				    vb[i] & EIF_FLAG_ARM64 ? "aarch64" : "x86_64");
		else
			strbuf_addf(sb, "\"old\": %llu, \"new\": %llu}",
				    (unsigned long long)va[i],
				    (unsigned long long)vb[i]);
		sep = ", ";
	}
	strbuf_addstr(sb, "],\n");
}

static void jsections(struct strbuf *sb, const struct diff_file *f)
{
	strbuf_addch(sb, '[');
	for (unsigned i = 0; i < f->img.nsec; i++) {
		strbuf_addf(sb, "%s{\"index\": %u, \"type\": \"%s\", \"size\": %llu, "
			    "\"sha384\": ", i ? ", " : "", i,
			    eif_section_name(f->img.sec[i].type),
			    (unsigned long long)f->img.sec[i].size);
		jhex(sb, f->sha[i], DIFF_SEC_SHA_LEN);
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
}

static void jcmdline(struct strbuf *sb, const struct diff_file *f)
{
	const struct eif_section *s = &f->img.sec[f->img.cmdline];
	char buf[4096];
	size_t n = s->size < sizeof(buf) ? (size_t)s->size : sizeof(buf);

	if (io_pread_full(f->fd, buf, n, s->offset + EIF_SEC_HDR_SIZE) !=
	    (ssize_t)n)
		n = 0;
	jstr(sb, buf, n);
}

static void jkv(struct strbuf *sb, const char *v, size_t len)
{
	if (v)
		jstr(sb, v, len);
	else
		strbuf_addstr(sb, "null");
}

static void jmetadata(struct strbuf *sb, const struct diff_result *r)
{
	strbuf_addstr(sb, "  \"metadata\": ");
	if (!r->metadata) {
		strbuf_addstr(sb, "null,\n");
		return;
	}
	strbuf_addstr(sb, "{\"pcrs\": [], \"keys\": [");
	for (size_t i = 0; i < r->nkv; i++) {
		strbuf_addstr(sb, i ? ", {\"key\": " : "{\"key\": ");
		jstr(sb, r->kv[i].key, r->kv[i].key_len);
		strbuf_addstr(sb, ", \"old\": ");
		jkv(sb, r->kv[i].a, r->kv[i].a_len);
		strbuf_addstr(sb, ", \"new\": ");
		jkv(sb, r->kv[i].b, r->kv[i].b_len);
		strbuf_addch(sb, '}');
	}
	strbuf_addstr(sb, "]},\n");
}

static void jcert(struct strbuf *sb, const struct diff_file *f)
{
	if (!f->have_sig) {
		strbuf_addstr(sb, "null");
		return;
	}
	strbuf_addstr(sb, "{\"subject\": ");
	jstr(sb, f->subject, strlen(f->subject));
	strbuf_addstr(sb, ", \"fingerprint_sha256\": ");
	jhex(sb, f->fingerprint, DIFF_SHA_LEN);
	strbuf_addstr(sb, ", \"pcr8\": ");
	jhex(sb, f->sig.pcr8, PCR_LEN);
	strbuf_addch(sb, '}');
}

static void jsignature(struct strbuf *sb, const struct diff_result *r)
{
	strbuf_addstr(sb, "  \"signature\": ");
	if (!r->sig) {
		strbuf_addstr(sb, "null,\n");
		return;
	}
	strbuf_addf(sb, "{\"change\": \"%s\", \"pcrs\": ",
		    r->sig & DS_ADDED ? "added" : r->sig & DS_REMOVED ? "removed" :
		    r->sig & DS_CERT ? "certificate" : "bytes");
	jpcrs(sb, r->sig & DS_BYTES ? 0 : 1u << 8);
	strbuf_addstr(sb, ", \"old\": ");
	jcert(sb, &r->a);
	strbuf_addstr(sb, ", \"new\": ");
	jcert(sb, &r->b);
	strbuf_addstr(sb, "},\n");
}

static void jsection_change(struct strbuf *sb, const char *key, bool differs,
			    unsigned pcrs)
{
	strbuf_addf(sb, "  \"%s\": ", key);
	if (!differs) {
		strbuf_addstr(sb, "null,\n");
		return;
	}
	strbuf_addstr(sb, "{\"pcrs\": ");
	jpcrs(sb, pcrs);
}

static void jeif(struct strbuf *sb, const struct diff_result *r)
{
	jpcr_values(sb, r);
	strbuf_addstr(sb, "  \"pcrs_differ\": ");
	jpcrs(sb, r->pcrs);
	strbuf_addstr(sb, ",\n");
	jheader(sb, r);
	strbuf_addf(sb, "  \"sections\": {\"order_differs\": %s, \"old\": ",
		    r->order ? "true" : "false");
	jsections(sb, &r->a);
	strbuf_addstr(sb, ", \"new\": ");
	jsections(sb, &r->b);
	strbuf_addstr(sb, "},\n");
	jsection_change(sb, "kernel", r->kernel,
			diff_section_pcrs(EIF_SEC_KERNEL, 0));
	if (r->kernel)
		strbuf_addf(sb, ", \"old_section\": %d, \"new_section\": %d},\n",
			    r->a.img.kernel, r->b.img.kernel);
	jsection_change(sb, "cmdline", r->cmdline,
			diff_section_pcrs(EIF_SEC_CMDLINE, 0));
	if (r->cmdline) {
		strbuf_addstr(sb, ", \"old\": ");
		jcmdline(sb, &r->a);
		strbuf_addstr(sb, ", \"new\": ");
		jcmdline(sb, &r->b);
		strbuf_addstr(sb, "},\n");
	}
	jmetadata(sb, r);
	jsignature(sb, r);
}

int diff_write_json(const struct diff_result *r, diff_out_fn out, void *ctx,
		    struct ek_error *err)
{
	struct emit e;
	struct strbuf *sb = &e.sb;
	unsigned n = 0, k = 0;

	emit_init(&e, out, ctx, err);
	strbuf_addf(sb, "{\n  \"schema\": %d,\n  \"kind\": \"%s\",\n"
		    "  \"identical\": %s,\n  \"summary\": ", DIFF_JSON_SCHEMA,
		    r->is_eif ? "eif" : "cpio", r->identical ? "true" : "false");
	{
		struct strbuf s;

		strbuf_init(&s);
		diff_summary(r, &s);
		/* the summary is escaped text already: only JSON is left */
		strbuf_addch(sb, '"');
		for (size_t i = 0; i < s.len; i++) {
			if (s.buf[i] == '"' || s.buf[i] == '\\')
				strbuf_addch(sb, '\\');
			strbuf_addch(sb, s.buf[i]);
		}
		strbuf_addstr(sb, "\",\n");
		if (!strbuf_ok(&s))
			sb->oom = true;
		strbuf_release(&s);
	}
	strbuf_addstr(sb, "  \"old\": {\"path\": ");
	jstr(sb, r->a.path, strlen(r->a.path));
	strbuf_addf(sb, ", \"size\": %llu},\n  \"new\": {\"path\": ",
		    (unsigned long long)r->a.size);
	jstr(sb, r->b.path, strlen(r->b.path));
	strbuf_addf(sb, ", \"size\": %llu},\n", (unsigned long long)r->b.size);
	if (r->is_eif)
		jeif(sb, r);
	for (unsigned i = 0; i < r->nrd; i++)
		n += r->rd[i].walked;
	strbuf_addstr(sb, "  \"ramdisks\": [\n");
	for (unsigned i = 0; i < r->nrd; i++)
		if (r->rd[i].walked)
			jramdisk(&e, r, &r->rd[i], ++k == n);
	strbuf_addstr(sb, "  ]\n}\n");
	return emit_finish(&e);
}
