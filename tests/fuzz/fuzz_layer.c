/* libFuzzer target: container layers (tar, gzip, zstd, pax headers,
 * whiteouts, hard links, symlinks) applied to a tree one after another,
 * as a build does, then the tree made final.
 *
 * Input: byte 0 picks, two bits a layer, each layer's media type (plain
 * tar, +gzip, +zstd, or none as docker save gives); bit 0 of byte 1 keeps
 * the layers' mtimes. The rest is up to four layers separated by the
 * four bytes "\nEK\n". Beyond the sanitizers it traps when a promise is
 * broken: a finished tree not sorted, a path that is not normalised, or
 * staged data outside the stage file. */
#define _GNU_SOURCE 1
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/layer.h"
#include "ramdisk/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	NULL,
};

struct mem {
	const uint8_t *p;
	size_t left;
};

/* Full reads, fewer bytes only at the end, as a layer source promises. */
static int mem_read(void *ctx, void *buf, size_t cap, size_t *got,
		    struct ek_error *err)
{
	struct mem *m = ctx;
	size_t n = m->left < cap ? m->left : cap;

	(void)err;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	*got = n;
	return 0;
}

static bool normalised(const char *p)
{
	size_t n = strlen(p);

	if (!n || n > TREE_PATH_MAX || p[0] == '/' || p[n - 1] == '/')
		return false;
	for (const char *c = p; c; c = strchr(c, '/')) {
		c += *c == '/';
		if (*c == '/' || !strncmp(c, "./", 2) || !strcmp(c, ".") ||
		    !strncmp(c, "../", 3) || !strcmp(c, ".."))
			return false;
	}
	return true;
}

static void check_tree(const struct tree *t, const struct stage *st)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct tree_entry *e = &t->e[i];

		if (!normalised(e->path) ||
		    (i && strcmp(t->e[i - 1].path, e->path) >= 0))
			__builtin_trap();
		if (e->type == TREE_REG && e->stage_fd > 0 &&
		    (e->stage_fd != st->fd || e->stage_off > st->size ||
		     e->size > st->size - e->stage_off))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stage st = { .fd = -1 };
	struct layer_opts o = { .mtime = 1 };
	struct ek_error err;
	struct tree t;
	unsigned pick;
	int r = 0;

	if (size < 2)
		return 0;
	if (st.fd < 0 && stage_open(&st, NULL, &err))
		abort();
	if (ftruncate(st.fd, 0) < 0)
		abort();
	st.size = 0;
	pick = data[0];
	o.keep_mtimes = data[1] & 1;
	data += 2;
	size -= 2;
	tree_init(&t);
	for (int i = 0; i < 4 && r == 0; i++) {
		const uint8_t *sep = memmem(data, size, "\nEK\n", 4);
		size_t len = sep ? (size_t)(sep - data) : size;
		struct mem m = { data, len };
		struct layer_src src = { .read = mem_read, .ctx = &m,
					 .name = "fuzz",
					 .media_type = types[(pick >> (2 * i)) & 3] };

		r = layer_apply_src(&t, &st, &src, &o, &err);
		if (!sep)
			break;
		data = sep + 4;
		size -= len + 4;
	}
	if (r == 0 && tree_finish(&t, 0, &err) == 0)
		check_tree(&t, &st);
	tree_release(&t);
	return 0;
}
