/* Unit tests for the diff library: cpio pairs built here byte by byte,
 * compared with diff_files. The moves are checked against a brute-force
 * count of the fewest entries that must move (every order of six
 * entries), and the rules for hard links, repeated names and raw inode
 * numbers one at a time. */
#include "base/internal.h"

#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "diff/diff.h"
#include "unit.h"

struct ent {
	const char *name;
	const char *data;
	uint32_t ino, nlink;
};

static void put(struct strbuf *sb, const struct ent *e, uint32_t mode)
{
	size_t dlen = e->data ? strlen(e->data) : 0;
	uint32_t f[13] = { e->ino, mode, 0, 0, e->nlink ? e->nlink : 1, 0,
			   (uint32_t)dlen, 3, 1, 0, 0,
			   (uint32_t)strlen(e->name) + 1, 0 };

	strbuf_addstr(sb, "070701");
	for (int i = 0; i < 13; i++)
		strbuf_addf(sb, "%08x", f[i]);
	strbuf_add(sb, e->name, strlen(e->name) + 1);
	while (sb->len % 4)
		strbuf_addch(sb, 0);
	strbuf_add(sb, e->data ? e->data : "", dlen);
	while (sb->len % 4)
		strbuf_addch(sb, 0);
}

/* An archive of n entries (ino 0 means: its place + 1) in a file. */
static void write_cpio(const char *path, const struct ent *es, size_t n)
{
	struct strbuf sb;
	FILE *f;

	strbuf_init(&sb);
	for (size_t i = 0; i < n; i++) {
		struct ent e = es[i];

		if (!e.ino)
			e.ino = (uint32_t)i + 1;
		put(&sb, &e, 0100644);
	}
	put(&sb, &(struct ent){ "TRAILER!!!", NULL, 0, 1 }, 0);
	f = fopen(path, "wb");
	CHECK(f && fwrite(sb.buf, 1, sb.len, f) == sb.len);
	if (f)
		fclose(f);
	strbuf_release(&sb);
}

static char path_a[4096], path_b[4096];

static struct diff_result *compare(const struct ent *a, size_t na,
				   const struct ent *b, size_t nb)
{
	struct diff_result *r = NULL;
	struct ek_error err;

	write_cpio(path_a, a, na);
	write_cpio(path_b, b, nb);
	if (diff_files(path_a, path_b, &r, &err)) {
		fprintf(stderr, "diff_files: %s\n", err.msg);
		diff_free(r);
		return NULL;
	}
	return r;
}

/* The fewest moves: n minus the longest increasing run, by brute force
 * (O(n^2) dynamic programming, independent of the library's method). */
static size_t fewest_moves(const int *perm, size_t n)
{
	size_t best[8], longest = 0;

	for (size_t i = 0; i < n; i++) {
		best[i] = 1;
		for (size_t j = 0; j < i; j++)
			if (perm[j] < perm[i] && best[j] + 1 > best[i])
				best[i] = best[j] + 1;
		if (best[i] > longest)
			longest = best[i];
	}
	return n - longest;
}

static bool next_perm(int *p, size_t n)
{
	size_t i = n - 1, j = n - 1;

	while (i > 0 && p[i - 1] >= p[i])
		i--;
	if (i == 0)
		return false;
	while (p[j] <= p[i - 1])
		j--;
	int t = p[i - 1]; p[i - 1] = p[j]; p[j] = t;
	for (size_t k = i, m = n - 1; k < m; k++, m--) {
		t = p[k]; p[k] = p[m]; p[m] = t;
	}
	return true;
}

TEST(every_order_of_six_entries)
{
	static const char *const names[6] = { "a", "b", "c", "d", "e", "f" };
	int perm[6] = { 0, 1, 2, 3, 4, 5 };
	struct ent a[6], b[6];
	unsigned orders = 0;

	for (int i = 0; i < 6; i++)
		a[i] = (struct ent){ names[i], "x", 1, 1 };
	do {
		struct diff_result *r;

		for (int i = 0; i < 6; i++)
			b[i] = (struct ent){ names[perm[i]], "x", 1, 1 };
		r = compare(a, 6, b, 6);
		CHECK(r);
		if (!r)
			return;
		orders++;
		CHECK(r->identical == (fewest_moves(perm, 6) == 0));
		CHECK(r->rd[0].moved == fewest_moves(perm, 6));
		CHECK(r->rd[0].changed == 0 && r->rd[0].added == 0);
		for (size_t i = 0; i < r->rd[0].nch; i++)
			CHECK(r->rd[0].ch[i].fields == DF_MOVED);
		diff_free(r);
	} while (next_perm(perm, 6));
	CHECK(orders == 720);
}

TEST(repeated_names_pair_in_order)
{
	struct ent a[] = { { "d", "1", 0, 0 }, { "d", "2", 0, 0 } };
	struct ent b[] = { { "d", "1", 0, 0 } };
	struct diff_result *r = compare(a, 2, b, 1);

	CHECK(r && r->rd[0].removed == 1 && r->rd[0].nch == 1);
	if (r)
		CHECK(r->rd[0].ch[0].a && !strcmp(r->rd[0].ch[0].a->name, "d") &&
		      r->rd[0].ch[0].a->pos == 1 && !r->rd[0].ch[0].b);
	diff_free(r);
}

TEST(hard_link_data_on_first_or_last_member_is_equal)
{
	/* eifkit puts the data on the first name, GNU cpio on the last */
	struct ent a[] = { { "x", "data", 7, 2 }, { "y", NULL, 7, 2 } };
	struct ent b[] = { { "x", NULL, 7, 2 }, { "y", "data", 7, 2 } };
	struct diff_result *r = compare(a, 2, b, 2);

	CHECK(r && !r->identical && r->rd[0].nch == 0 && r->rd[0].encoding_only);
	diff_free(r);
}

TEST(hard_link_turned_into_a_copy)
{
	struct ent a[] = { { "x", "data", 7, 2 }, { "y", NULL, 7, 2 } };
	struct ent b[] = { { "x", "data", 7, 1 }, { "y", "data", 8, 1 } };
	struct diff_result *r = compare(a, 2, b, 2);

	CHECK(r && r->rd[0].changed == 2);
	for (size_t i = 0; r && i < r->rd[0].nch; i++)
		CHECK(r->rd[0].ch[i].fields == (DF_LINK | DF_NLINK));
	diff_free(r);
}

TEST(raw_inode_numbers_only_when_nothing_else)
{
	struct ent a[] = { { "x", "1", 1, 1 }, { "y", "2", 2, 1 } };
	struct ent b[] = { { "x", "1", 5, 1 }, { "y", "2", 6, 1 } };
	struct ent c[] = { { "x", "1", 5, 1 }, { "y", "3", 6, 1 } };
	struct diff_result *r = compare(a, 2, b, 2);

	CHECK(r && r->rd[0].changed == 2 && r->rd[0].ch[0].fields == DF_INO);
	diff_free(r);
	r = compare(a, 2, c, 2);
	CHECK(r && r->rd[0].changed == 1 && r->rd[0].ch[0].fields == DF_CONTENT);
	diff_free(r);
}

TEST(summary_line)
{
	struct ent a[] = { { "x", "1", 0, 0 }, { "y", "2", 0, 0 } };
	struct ent b[] = { { "x", "1", 0, 0 }, { "y", "22", 0, 0 },
			   { "z", NULL, 0, 0 } };
	struct diff_result *r = compare(a, 2, b, 3);
	struct strbuf sb;

	strbuf_init(&sb);
	if (r)
		diff_summary(r, &sb);
	CHECK_STR(sb.buf, "archives differ: 1 file changed, 1 added");
	strbuf_release(&sb);
	diff_free(r);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path_a, sizeof(path_a), "%s/diffa.XXXXXX", tmp ? tmp : "/tmp");
	snprintf(path_b, sizeof(path_b), "%s/diffb.XXXXXX", tmp ? tmp : "/tmp");
	if ((fd = mkstemp(path_a)) >= 0)
		close(fd);
	if ((fd = mkstemp(path_b)) >= 0)
		close(fd);
	RUN(every_order_of_six_entries);
	RUN(repeated_names_pair_in_order);
	RUN(hard_link_data_on_first_or_last_member_is_equal);
	RUN(hard_link_turned_into_a_copy);
	RUN(raw_inode_numbers_only_when_nothing_else);
	RUN(summary_line);
	unlink(path_a);
	unlink(path_b);
	return unit_done();
}
