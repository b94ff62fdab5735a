#include "base/internal.h"

#include <stdio.h>

#include "deep.h"
#include "eif/kernel.h"
#include "ramdisk/appcheck.h"
#include "ramdisk/cpio_read.h"
#include "ramdisk/tree.h"

int deep_kernel(const struct eif_image *img, char *out, size_t size,
		struct ek_error *err)
{
	const struct eif_section *s = &img->sec[img->kernel < 0 ? 0 : img->kernel];
	bool arm64 = img->hdr.flags & EIF_FLAG_ARM64, compressed;
	struct kernel_info ki;
	int r;

	if (img->kernel < 0)
		return ek_fail(err, EK_EFORMAT, "no kernel section");
	r = kernel_inspect(img->fd, s->offset + EIF_SEC_HDR_SIZE, s->size,
			       "the kernel", &ki, err);

	if (r == 0)
		r = kernel_check(&ki, arm64, "the kernel", &compressed, err);
	if (r == 0)
		snprintf(out, size, "%s%s%s%s", kernel_format_name(ki.format),
			 ki.release[0] ? ", " : "", ki.release,
			 compressed ? " (AWS's aarch64 kernel is uncompressed)"
				    : "");
	return r;
}

/* The lines of a cmd/env/workdir file, as the init splits them: only the
 * final "\n" of each line goes. *items point into *buf. */
static int lines(const struct tree *t, const char *name, char **buf,
		 const char ***items, size_t *n, struct ek_error *err)
{
	const struct tree_entry *e = tree_find(t, name);
	ssize_t got;

	*buf = NULL;
	*items = NULL;
	*n = 0;
	if (!e)
		return 0;
	if (e->type != TREE_REG || e->size > (1u << 20))
		return ek_fail(err, EK_EFORMAT, "/%s: not a file the init reads",
			       name);
	*buf = malloc((size_t)e->size + 1);
	*items = calloc((size_t)e->size + 1, sizeof(**items));
	if (!*buf || !*items)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	got = tree_entry_pread(e, *buf, (size_t)e->size, 0, err);
	if (got < 0)
		return (int)got;
	(*buf)[got] = '\0';
	for (char *p = *buf; p < *buf + got;) {
		char *nl = memchr(p, '\n', (size_t)(*buf + got - p));

		if (nl)
			*nl = '\0';
		(*items)[(*n)++] = p;
		p = nl ? nl + 1 : *buf + got;
	}
	return 0;
}

int deep_app(const struct eif_image *img, char *out, size_t size,
	     struct ek_error *err)
{
	struct tree t;
	char *cbuf = NULL, *ebuf = NULL, *wbuf = NULL;
	const char **argv = NULL, **env = NULL, **wd = NULL;
	size_t argc = 0, envc = 0, nwd = 0;
	unsigned n = 0;
	int r = 0;

	tree_init(&t);
	for (unsigned i = 0; r == 0 && i < img->nsec; i++) {
		const struct eif_section *s = &img->sec[i];
		const char *compressed = NULL;
		char what[32];

		if (s->type != EIF_SEC_RAMDISK)
			continue;
		snprintf(what, sizeof(what), "ramdisk %u", n++);
		r = cpio_read_tree(&t, img->fd, s->offset + EIF_SEC_HDR_SIZE,
				   s->size, img->name, what, &compressed, err);
		if (r == 0 && compressed)
			r = ek_fail(err, EK_EFORMAT, "%s is %s-compressed: not "
				    "checked", what, compressed);
	}
	if (r == 0)
		r = tree_finish(&t, 0, err);
	if (r == 0 && (r = lines(&t, "cmd", &cbuf, &argv, &argc, err)) == 0 &&
	    (r = lines(&t, "env", &ebuf, &env, &envc, err)) == 0)
		r = lines(&t, "workdir", &wbuf, &wd, &nwd, err);
	if (r == 0 && !cbuf)
		r = ek_fail(err, EK_EFORMAT, "no /cmd in the ramdisks: the init "
			    "has nothing to run");
	if (r == 0 && argc == 0)
		r = ek_fail(err, EK_EFORMAT, "/cmd is empty: the init has "
			    "nothing to run");
	if (r == 0) {
		const struct app_check ac = {
			.argv = argv, .argc = argc, .env = env, .envc = envc,
			.workdir = nwd ? wd[0] : NULL,
			.arm64 = img->hdr.flags & EIF_FLAG_ARM64,
			.root = "rootfs",
		};

		r = app_check(&t, &ac, err);
	}
	if (r == 0)
		snprintf(out, size, "%s", argv[0]);
	free(cbuf);
	free(ebuf);
	free(wbuf);
	free(argv);
	free(env);
	free(wd);
	tree_release(&t);
	return r;
}
