/* diff_report.c: the report for people: one line that says it all, then
 * the details. Every name and string from the inputs goes through
 * text_escape, so a crafted file can neither fake a line nor reach the
 * terminal. */
#include "base/internal.h"

#include <stdio.h>
#include <time.h>

#include "base/io.h"
#include "base/text.h"
#include "diff/diff.h"
#include "diff/diff_emit.h"
#include "ramdisk/cpio_read.h"

#define SHORT_HEX 8 /* bytes of a digest shown in text */

const char *const diff_header_names[8] = {
	"version", "arch", "default memory", "default CPUs", "section count",
	"reserved", "unused", "CRC",
};

/* ---- output ---- */

void emit_init(struct emit *e, diff_out_fn out, void *ctx,
	       struct ek_error *err)
{
	e->out = out;
	e->ctx = ctx;
	e->err = err;
	e->ret = 0;
	strbuf_init(&e->sb);
}

void emit_flush(struct emit *e, bool force)
{
	if (e->ret || (!force && e->sb.len < (64u << 10)))
		return;
	if (!strbuf_ok(&e->sb))
		e->ret = ek_fail(e->err, EK_ENOMEM, "out of memory");
	else if (e->sb.len)
		e->ret = e->out(e->ctx, e->sb.buf, e->sb.len, e->err);
	e->sb.len = 0;
	if (e->sb.alloc)
		e->sb.buf[0] = '\0';
}

int emit_finish(struct emit *e)
{
	emit_flush(e, true);
	strbuf_release(&e->sb);
	return e->ret;
}

/* ---- words ---- */

const char *diff_type_word(uint32_t mode)
{
	switch (mode & CPIO_IFMT) {
	case CPIO_IFREG: return "file";
	case CPIO_IFDIR: return "directory";
	case CPIO_IFLNK: return "symlink";
	case CPIO_IFCHR: return "char device";
	case CPIO_IFBLK: return "block device";
	case CPIO_IFIFO: return "fifo";
	case CPIO_IFSOCK: return "socket";
	}
	return "unknown";
}

void diff_hex(struct strbuf *sb, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%02x", p[i]);
}

void diff_ramdisk_name(struct strbuf *sb, const struct diff_ramdisk *d)
{
	strbuf_addf(sb, "ramdisk %u", d->index);
	if (d->label)
		strbuf_addf(sb, " (%s)", d->label);
}

static void pcr_list(struct strbuf *sb, unsigned pcrs)
{
	static const int idx[] = { 0, 1, 2, 8 };
	unsigned n = 0, total = 0;

	for (size_t i = 0; i < ARRAY_SIZE(idx); i++)
		total += !!(pcrs & 1u << idx[i]);
	for (size_t i = 0; i < ARRAY_SIZE(idx); i++) {
		if (!(pcrs & 1u << idx[i]))
			continue;
		if (n)
			strbuf_addstr(sb, n + 1 == total ? " and " : ", ");
		strbuf_addf(sb, "PCR%d", idx[i]);
		n++;
	}
}

/* " (PCR0, PCR2)" or " (no PCR)" after a detail line's head. */
static void moves(struct strbuf *sb, unsigned pcrs)
{
	static const int idx[] = { 0, 1, 2, 8 };
	const char *sep = " (";

	if (!pcrs) {
		strbuf_addstr(sb, " (no PCR)");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(idx); i++)
		if (pcrs & 1u << idx[i]) {
			strbuf_addf(sb, "%sPCR%d", sep, idx[i]);
			sep = ", ";
		}
	strbuf_addch(sb, ')');
}

/* ---- the first line ---- */

static void plural(struct strbuf *sb, const char **sep, size_t n,
		   const char *word)
{
	if (!n)
		return;
	strbuf_addf(sb, "%s%zu %s", *sep, n, word);
	*sep = ", ";
}

static void ramdisk_counts(struct strbuf *sb, const struct diff_ramdisk *d)
{
	static const char *const app[3] = { "argv", "env", "workdir" };
	const char *sep = "";

	if (d->sec_a < 0 && d->sec_b >= 0) {
		strbuf_addf(sb, "added (%zu entries)", d->b.n);
		return;
	}
	if (d->sec_b < 0 && d->sec_a >= 0) {
		strbuf_addf(sb, "removed (%zu entries)", d->a.n);
		return;
	}
	if (d->encoding_only) {
		strbuf_addstr(sb, "same entries, other bytes");
		return;
	}
	plural(sb, &sep, d->changed, d->changed == 1 ? "file changed" :
	       "files changed");
	plural(sb, &sep, d->added, "added");
	plural(sb, &sep, d->removed, "removed");
	plural(sb, &sep, d->moved, "moved");
	if (d->compressed_differs) {
		strbuf_addf(sb, "%scompressed data", sep);
		sep = ", ";
	}
	for (int k = 0, n = 0; k < 3; k++)
		if (d->app & 1u << k)
			strbuf_addf(sb, "%s%s", n++ ? ", " : " (", app[k]);
	if (d->app)
		strbuf_addch(sb, ')');
}

static void item(struct strbuf *sb, bool *first)
{
	strbuf_addstr(sb, *first ? ": " : "; ");
	*first = false;
}

static void summary_header(const struct diff_result *r, struct strbuf *sb,
			   bool *first)
{
	unsigned h = r->header;
	bool sections = r->order || r->kernel || r->cmdline || r->metadata ||
			r->sig;
	const char *sep = "";

	for (unsigned i = 0; i < r->nrd; i++)
		sections = sections || r->rd[i].walked;
	/* the section count follows from a section that differs, and the
	 * CRC from anything that differs: named alone, they say nothing */
	if (sections)
		h &= ~(unsigned)DH_NSEC;
	if (sections || (h & ~(unsigned)DH_CRC))
		h &= ~(unsigned)DH_CRC;
	if (!h)
		return;
	item(sb, first);
	strbuf_addstr(sb, "header: ");
	for (int i = 0; i < 8; i++)
		if (h & 1u << i) {
			strbuf_addf(sb, "%s%s", sep, diff_header_names[i]);
			sep = ", ";
		}
}

static void summary_metadata(const struct diff_result *r, struct strbuf *sb,
			     bool *first)
{
	if (!r->metadata)
		return;
	item(sb, first);
	strbuf_addstr(sb, "metadata");
	for (size_t i = 0; i < r->nkv && i < 8; i++) {
		strbuf_addstr(sb, i ? ", " : ": ");
		text_escape(sb, r->kv[i].key, r->kv[i].key_len, 0);
	}
	if (r->nkv > 8)
		strbuf_addf(sb, " and %zu more", r->nkv - 8);
	if (!r->nkv)
		strbuf_addstr(sb, ": same keys and values, other bytes");
}

void diff_summary(const struct diff_result *r, struct strbuf *sb)
{
	static const char *const sig[] = { "added", "removed", "certificate",
					   "signature bytes" };
	bool first = true;

	if (r->identical) {
		strbuf_addstr(sb, "identical");
		return;
	}
	if (!r->is_eif) {
		strbuf_addstr(sb, "archives differ: ");
		ramdisk_counts(sb, &r->rd[0]);
		return;
	}
	if (r->pcrs) {
		pcr_list(sb, r->pcrs);
		strbuf_addstr(sb, r->pcrs & (r->pcrs - 1) ? " differ" : " differs");
	} else {
		strbuf_addstr(sb, "no PCR differs");
	}
	summary_header(r, sb, &first);
	if (r->order) {
		item(sb, &first);
		strbuf_addstr(sb, "section list");
	}
	if (r->kernel) {
		item(sb, &first);
		strbuf_addstr(sb, "kernel");
	}
	if (r->cmdline) {
		item(sb, &first);
		strbuf_addstr(sb, "cmdline");
	}
	for (unsigned i = 0; i < r->nrd; i++) {
		if (!r->rd[i].walked)
			continue;
		item(sb, &first);
		diff_ramdisk_name(sb, &r->rd[i]);
		strbuf_addstr(sb, ": ");
		ramdisk_counts(sb, &r->rd[i]);
	}
	summary_metadata(r, sb, &first);
	for (int i = 0; i < 4; i++)
		if (r->sig & 1u << i) {
			item(sb, &first);
			strbuf_addf(sb, "signature: %s", sig[i]);
		}
}

/* ---- details: EIF parts ---- */

static void quoted(struct strbuf *sb, const char *s, size_t len)
{
	strbuf_addch(sb, '\'');
	text_escape(sb, s, len, TEXT_KEEP_SPACES);
	strbuf_addch(sb, '\'');
}

static void pcr_lines(struct emit *e, const struct diff_result *r)
{
	const struct diff_file *a = &r->a, *b = &r->b;

	for (int i = 0; i < 3; i++) {
		strbuf_addf(&e->sb, "PCR%d %s: ", i,
			    r->pcrs & 1u << i ? "differs" : "equal");
		diff_hex(&e->sb, a->img.pcr[i], PCR_LEN);
		if (r->pcrs & 1u << i) {
			strbuf_addstr(&e->sb, " -> ");
			diff_hex(&e->sb, b->img.pcr[i], PCR_LEN);
		}
		strbuf_addch(&e->sb, '\n');
	}
	if (!a->have_sig && !b->have_sig)
		return;
	strbuf_addf(&e->sb, "PCR8 %s: ", r->pcrs & 1u << 8 ? "differs" : "equal");
	if (a->have_sig)
		diff_hex(&e->sb, a->sig.pcr8, PCR_LEN);
	else
		strbuf_addstr(&e->sb, "(unsigned)");
	if (r->pcrs & 1u << 8) {
		strbuf_addstr(&e->sb, " -> ");
		if (b->have_sig)
			diff_hex(&e->sb, b->sig.pcr8, PCR_LEN);
		else
			strbuf_addstr(&e->sb, "(unsigned)");
	}
	strbuf_addch(&e->sb, '\n');
}

static void header_lines(struct emit *e, const struct diff_result *r)
{
	const struct eif_header *a = &r->a.img.hdr, *b = &r->b.img.hdr;
	uint64_t va[8] = { a->version, a->flags, a->default_mem,
			   a->default_cpus, a->num_sections, a->reserved,
			   a->unused, a->crc32 };
	uint64_t vb[8] = { b->version, b->flags, b->default_mem,
			   b->default_cpus, b->num_sections, b->reserved,
			   b->unused, b->crc32 };

	for (int i = 0; i < 8; i++) {
		if (!(r->header & 1u << i))
			continue;
		strbuf_addf(&e->sb, "header: %s: ", diff_header_names[i]);
		if (i == 1)
			strbuf_addf(&e->sb, "%s -> %s",
				    va[i] & EIF_FLAG_ARM64 ? "aarch64" : "x86_64",
				    vb[i] & EIF_FLAG_ARM64 ? "aarch64" : "x86_64");
		else if (i == 7)
			strbuf_addf(&e->sb, "0x%08llx -> 0x%08llx",
				    (unsigned long long)va[i],
				    (unsigned long long)vb[i]);
		else
			strbuf_addf(&e->sb, "%llu -> %llu",
				    (unsigned long long)va[i],
				    (unsigned long long)vb[i]);
		moves(&e->sb, 0);
		strbuf_addch(&e->sb, '\n');
	}
}

static void section_list(struct strbuf *sb, const struct diff_file *f)
{
	for (unsigned i = 0; i < f->img.nsec; i++) {
		strbuf_addf(sb, "%s%s %llu", i ? ", " : "",
			    eif_section_name(f->img.sec[i].type),
			    (unsigned long long)f->img.sec[i].size);
	}
}

/* "section 0 kernel: 5000 bytes sha384 0123abcd... -> ..." */
static void section_line(struct emit *e, const struct diff_result *r,
			 const char *what, int ia, int ib, unsigned pcrs)
{
	const struct diff_file *a = &r->a, *b = &r->b;

	strbuf_addf(&e->sb, "%s: ", what);
	if (ia >= 0) {
		strbuf_addf(&e->sb, "section %d, %llu bytes, sha384 ", ia,
			    (unsigned long long)a->img.sec[ia].size);
		diff_hex(&e->sb, a->sha[ia], SHORT_HEX);
	} else {
		strbuf_addstr(&e->sb, "(none)");
	}
	strbuf_addstr(&e->sb, " -> ");
	if (ib >= 0) {
		strbuf_addf(&e->sb, "section %d, %llu bytes, sha384 ", ib,
			    (unsigned long long)b->img.sec[ib].size);
		diff_hex(&e->sb, b->sha[ib], SHORT_HEX);
	} else {
		strbuf_addstr(&e->sb, "(none)");
	}
	moves(&e->sb, pcrs);
	strbuf_addch(&e->sb, '\n');
}

static void cmdline_line(struct emit *e, const struct diff_result *r)
{
	const struct diff_file *f[2] = { &r->a, &r->b };

	strbuf_addstr(&e->sb, "  cmdline ");
	for (int k = 0; k < 2; k++) {
		const struct eif_section *s = &f[k]->img.sec[f[k]->img.cmdline];
		char buf[4096];
		size_t n = s->size < sizeof(buf) ? (size_t)s->size : sizeof(buf);

		if (io_pread_full(f[k]->fd, buf, n, s->offset + EIF_SEC_HDR_SIZE) !=
		    (ssize_t)n)
			n = 0;
		quoted(&e->sb, buf, n);
		if (n < s->size)
			strbuf_addstr(&e->sb, "...");
		if (!k)
			strbuf_addstr(&e->sb, " -> ");
	}
	strbuf_addch(&e->sb, '\n');
}

static void kv_value(struct strbuf *sb, const char *v, size_t len)
{
	if (v)
		quoted(sb, v, len);
	else
		strbuf_addstr(sb, "(absent)");
}

static void metadata_lines(struct emit *e, const struct diff_result *r)
{
	section_line(e, r, "metadata", r->a.img.metadata, r->b.img.metadata, 0);
	for (size_t i = 0; i < r->nkv; i++) {
		const struct diff_kv *kv = &r->kv[i];

		strbuf_addstr(&e->sb, "  ");
		text_escape(&e->sb, kv->key, kv->key_len, 0);
		strbuf_addstr(&e->sb, ": ");
		kv_value(&e->sb, kv->a, kv->a_len);
		strbuf_addstr(&e->sb, " -> ");
		kv_value(&e->sb, kv->b, kv->b_len);
		strbuf_addch(&e->sb, '\n');
		emit_flush(e, false);
	}
}

static void cert_line(struct strbuf *sb, const char *which,
		      const struct diff_file *f)
{
	strbuf_addf(sb, "  %s ", which);
	if (!f->have_sig) {
		strbuf_addstr(sb, "unsigned\n");
		return;
	}
	strbuf_addstr(sb, "subject ");
	quoted(sb, f->subject, strlen(f->subject));
	strbuf_addstr(sb, ", sha256 fingerprint ");
	diff_hex(sb, f->fingerprint, DIFF_SHA_LEN);
	strbuf_addch(sb, '\n');
}

static void signature_lines(struct emit *e, const struct diff_result *r)
{
	if (!r->sig)
		return;
	strbuf_addstr(&e->sb, "signature: ");
	if (r->sig & DS_ADDED)
		strbuf_addstr(&e->sb, "added");
	else if (r->sig & DS_REMOVED)
		strbuf_addstr(&e->sb, "removed");
	else if (r->sig & DS_CERT)
		strbuf_addstr(&e->sb, "another signing certificate");
	else
		strbuf_addstr(&e->sb, "same certificate, other signature bytes");
	moves(&e->sb, r->sig & DS_BYTES ? 0 : 1u << 8);
	strbuf_addch(&e->sb, '\n');
	cert_line(&e->sb, "old", &r->a);
	cert_line(&e->sb, "new", &r->b);
}

/* ---- details: entries ---- */

static void utc(struct strbuf *sb, uint32_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm))
		return;
	strbuf_addf(sb, " (%s)", buf);
}

static void name(struct strbuf *sb, const struct diff_entry *x)
{
	text_escape(sb, x->name, x->name_len, 0);
}

static void group_of(struct strbuf *sb, const struct diff_side *s,
		     const struct diff_entry *x)
{
	if (x->group < 0)
		strbuf_addstr(sb, "none");
	else
		name(sb, &s->e[x->group]);
}

static void field(struct strbuf *sb, const struct diff_ramdisk *d,
		  const struct diff_change *c, int f)
{
	const struct diff_entry *a = c->a, *b = c->b;

	strbuf_addstr(sb, diff_field_names[f]);
	strbuf_addch(sb, ' ');
	switch (1 << f) {
	case DF_TYPE:
		strbuf_addf(sb, "%s -> %s", diff_type_word(a->mode),
			    diff_type_word(b->mode));
		break;
	case DF_MODE:
		strbuf_addf(sb, "%04o -> %04o", a->mode & 07777, b->mode & 07777);
		break;
	case DF_UID: strbuf_addf(sb, "%u -> %u", a->uid, b->uid); break;
	case DF_GID: strbuf_addf(sb, "%u -> %u", a->gid, b->gid); break;
	case DF_MTIME:
		strbuf_addf(sb, "%u", a->mtime);
		utc(sb, a->mtime);
		strbuf_addf(sb, " -> %u", b->mtime);
		utc(sb, b->mtime);
		break;
	case DF_SIZE: strbuf_addf(sb, "%u -> %u", a->size, b->size); break;
	case DF_CONTENT:
		strbuf_addstr(sb, "sha256 ");
		diff_hex(sb, a->sha, SHORT_HEX);
		strbuf_addstr(sb, " -> ");
		diff_hex(sb, b->sha, SHORT_HEX);
		break;
	case DF_TARGET:
		text_escape(sb, a->link, a->link_len, 0);
		strbuf_addstr(sb, " -> ");
		text_escape(sb, b->link, b->link_len, 0);
		break;
	case DF_RDEV:
		strbuf_addf(sb, "%u,%u -> %u,%u", a->rdevmajor, a->rdevminor,
			    b->rdevmajor, b->rdevminor);
		break;
	case DF_LINK:
		group_of(sb, &d->a, a);
		strbuf_addstr(sb, " -> ");
		group_of(sb, &d->b, b);
		break;
	case DF_NLINK: strbuf_addf(sb, "%u -> %u", a->nlink, b->nlink); break;
	case DF_INO: strbuf_addf(sb, "%u -> %u", a->ino, b->ino); break;
	case DF_DEV:
		strbuf_addf(sb, "%u,%u -> %u,%u", a->devmajor, a->devminor,
			    b->devmajor, b->devminor);
		break;
	case DF_MOVED:
		strbuf_addf(sb, "from position %u to %u", a->pos, b->pos);
		break;
	}
}

static void change_line(struct strbuf *sb, const struct diff_ramdisk *d,
			const struct diff_change *c)
{
	const struct diff_entry *x = c->a ? c->a : c->b;
	const char *sep = ": ";

	if (!c->a || !c->b) {
		strbuf_addstr(sb, c->a ? "  removed  " : "  added    ");
		name(sb, x);
		strbuf_addf(sb, " (%s %04o, %u/%u", diff_type_word(x->mode),
			    x->mode & 07777, x->uid, x->gid);
		if ((x->mode & CPIO_IFMT) == CPIO_IFREG)
			strbuf_addf(sb, ", %u bytes", x->size);
		strbuf_addstr(sb, ")\n");
		return;
	}
	strbuf_addstr(sb, c->fields & ~(uint32_t)DF_MOVED ? "  changed  " :
		      "  moved    ");
	name(sb, x);
	for (int f = 0; f < DF_NFIELDS; f++)
		if (c->fields & 1u << f) {
			strbuf_addstr(sb, sep);
			field(sb, d, c, f);
			sep = ", ";
		}
	strbuf_addch(sb, '\n');
}

/* ---- details: cmd, env, workdir ---- */

struct lines {
	const char *p;
	size_t len;
};

/* The next line of s (without '\n'): 0 at the end. */
static int next_line(const char **s, const char *end, struct lines *l)
{
	const char *nl;

	if (*s >= end)
		return 0;
	nl = memchr(*s, '\n', (size_t)(end - *s));
	l->p = *s;
	l->len = (size_t)((nl ? nl : end) - *s);
	*s = nl ? nl + 1 : end;
	return 1;
}

static size_t count_lines(const struct diff_entry *x)
{
	const char *s = x ? (const char *)x->app : NULL;
	const char *end = s ? s + x->app_len : NULL;
	struct lines l;
	size_t n = 0;

	while (s && next_line(&s, end, &l))
		n++;
	return n;
}

static bool nth_line(const struct diff_entry *x, size_t k, struct lines *l)
{
	const char *s = x ? (const char *)x->app : NULL;
	const char *end = s ? s + x->app_len : NULL;

	while (s && next_line(&s, end, l))
		if (k-- == 0)
			return true;
	return false;
}

static void argv_lines(struct strbuf *sb, const struct diff_entry *a,
		       const struct diff_entry *b)
{
	size_t na = count_lines(a), nb = count_lines(b);

	strbuf_addf(sb, "  argv (cmd): %zu -> %zu arguments\n", na, nb);
	for (size_t k = 0; k < na || k < nb; k++) {
		struct lines la, lb;
		bool ha = nth_line(a, k, &la), hb = nth_line(b, k, &lb);

		if (ha && hb && la.len == lb.len && !memcmp(la.p, lb.p, la.len))
			continue;
		strbuf_addf(sb, "    argv[%zu]: ", k);
		if (ha)
			quoted(sb, la.p, la.len);
		else
			strbuf_addstr(sb, "(none)");
		strbuf_addstr(sb, " -> ");
		if (hb)
			quoted(sb, lb.p, lb.len);
		else
			strbuf_addstr(sb, "(none)");
		strbuf_addch(sb, '\n');
	}
}

/* The line of x that sets the variable named like l's (the last one). */
static bool find_var(const struct diff_entry *x, const struct lines *l,
		     struct lines *out)
{
	const char *eq = memchr(l->p, '=', l->len);
	size_t klen = eq ? (size_t)(eq - l->p) + 1 : l->len;
	const char *s = x ? (const char *)x->app : NULL;
	const char *end = s ? s + x->app_len : NULL;
	struct lines m;
	bool found = false;

	while (s && next_line(&s, end, &m))
		if (m.len >= klen && !memcmp(m.p, l->p, klen) &&
		    (eq || m.len == klen)) {
			*out = m;
			found = true;
		}
	return found;
}

/* Variables of one side missing from, or set otherwise in, the other. */
static void env_side(struct strbuf *sb, const struct diff_entry *x,
		     const struct diff_entry *y, bool old)
{
	const char *s = x ? (const char *)x->app : NULL;
	const char *end = s ? s + x->app_len : NULL;
	struct lines l, m;

	while (s && next_line(&s, end, &l)) {
		bool found = find_var(y, &l, &m);

		if (found && (!old || (m.len == l.len && !memcmp(m.p, l.p, l.len))))
			continue;
		strbuf_addstr(sb, !found ? (old ? "    - " : "    + ") : "    ");
		if (found) {
			quoted(sb, l.p, l.len);
			strbuf_addstr(sb, " -> ");
			quoted(sb, m.p, m.len);
		} else {
			quoted(sb, l.p, l.len);
		}
		strbuf_addch(sb, '\n');
	}
}

static void app_lines(struct emit *e, const struct diff_ramdisk *d)
{
	if (d->app & DIFF_APP_ARGV)
		argv_lines(&e->sb, d->app_a[0], d->app_b[0]);
	if (d->app & DIFF_APP_ENV) {
		strbuf_addf(&e->sb, "  environment (env): %zu -> %zu variables\n",
			    count_lines(d->app_a[1]), count_lines(d->app_b[1]));
		env_side(&e->sb, d->app_a[1], d->app_b[1], true);
		env_side(&e->sb, d->app_b[1], d->app_a[1], false);
	}
	if (d->app & DIFF_APP_WORKDIR) {
		struct lines la, lb;

		strbuf_addstr(&e->sb, "  folder (workdir): ");
		if (nth_line(d->app_a[2], 0, &la))
			quoted(&e->sb, la.p, la.len);
		else
			strbuf_addstr(&e->sb, "(none)");
		strbuf_addstr(&e->sb, " -> ");
		if (nth_line(d->app_b[2], 0, &lb))
			quoted(&e->sb, lb.p, lb.len);
		else
			strbuf_addstr(&e->sb, "(none)");
		strbuf_addch(&e->sb, '\n');
	}
}

static void ramdisk_lines(struct emit *e, const struct diff_result *r,
			  const struct diff_ramdisk *d, size_t max)
{
	if (r->is_eif) {
		struct strbuf what;

		strbuf_init(&what);
		diff_ramdisk_name(&what, d);
		section_line(e, r, strbuf_ok(&what) ? what.buf : "ramdisk",
			     d->sec_a, d->sec_b,
			     diff_section_pcrs(EIF_SEC_RAMDISK, d->index));
		strbuf_release(&what);
	}
	strbuf_addstr(&e->sb, "  ");
	ramdisk_counts(&e->sb, d);
	strbuf_addch(&e->sb, '\n');
	for (size_t i = 0; i < d->nch && i < max; i++) {
		change_line(&e->sb, d, &d->ch[i]);
		emit_flush(e, false);
	}
	if (d->nch > max)
		strbuf_addf(&e->sb, "  ... and %zu more (--max-entries N, or "
			    "--json for all)\n", d->nch - max);
	if (d->compressed_differs)
		strbuf_addf(&e->sb, "  compressed data (%s, %llu bytes) -> "
			    "(%s, %llu bytes)\n",
			    d->a.compressed ? d->a.compressed : "none",
			    (unsigned long long)d->a.comp_len,
			    d->b.compressed ? d->b.compressed : "none",
			    (unsigned long long)d->b.comp_len);
	app_lines(e, d);
}

static void eif_lines(struct emit *e, const struct diff_result *r, size_t max)
{
	pcr_lines(e, r);
	header_lines(e, r);
	if (r->order) {
		strbuf_addstr(&e->sb, "sections: ");
		section_list(&e->sb, &r->a);
		strbuf_addstr(&e->sb, " -> ");
		section_list(&e->sb, &r->b);
		strbuf_addch(&e->sb, '\n');
	}
	if (r->kernel)
		section_line(e, r, "kernel", r->a.img.kernel, r->b.img.kernel,
			     diff_section_pcrs(EIF_SEC_KERNEL, 0));
	if (r->cmdline) {
		section_line(e, r, "cmdline", r->a.img.cmdline,
			     r->b.img.cmdline,
			     diff_section_pcrs(EIF_SEC_CMDLINE, 0));
		cmdline_line(e, r);
	}
	for (unsigned i = 0; i < r->nrd; i++)
		if (r->rd[i].walked)
			ramdisk_lines(e, r, &r->rd[i], max);
	if (r->metadata)
		metadata_lines(e, r);
	signature_lines(e, r);
}

int diff_write_text(const struct diff_result *r, size_t max_entries,
		    diff_out_fn out, void *ctx, struct ek_error *err)
{
	struct emit e;

	emit_init(&e, out, ctx, err);
	diff_summary(r, &e.sb);
	strbuf_addstr(&e.sb, "\nold: ");
	text_escape(&e.sb, r->a.path, strlen(r->a.path), 0);
	strbuf_addstr(&e.sb, "\nnew: ");
	text_escape(&e.sb, r->b.path, strlen(r->b.path), 0);
	strbuf_addch(&e.sb, '\n');
	if (r->is_eif)
		eif_lines(&e, r, max_entries);
	else if (!r->identical)
		ramdisk_lines(&e, r, &r->rd[0], max_entries);
	return emit_finish(&e);
}
