#include "base/internal.h"

#include <stdio.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "image/oci.h"

#define JSON_MAX (16u << 20)
#define ANN_REF "org.opencontainers.image.ref.name"
#define ANN_CONTAINERD "io.containerd.image.name"

/* Every JSON document of an image is read by the strict parser: two
 * members of one key are refused (docs/design-notes.md). A field is read
 * through field(), which refuses a value of another type than the image
 * spec gives it and a string holding a NUL, naming the field: a value
 * changed into another one (a NUL cutting a string, a number taken as a
 * string) would give another image than other tools see. */

/* Where a document came from, for messages: "'store': 'member'". */
struct doc {
	struct json_value *root;
	char what[512];
};

static void doc_release(struct doc *d)
{
	json_free(d->root);
	d->root = NULL;
}

/* Read, optionally verify, and parse a JSON member. */
static int load_json(struct blobstore *bs, const char *name,
		     const char *digest, int64_t size, struct doc *d,
		     struct ek_error *err)
{
	char *buf;
	size_t len;
	int r;

	d->root = NULL;
	snprintf(d->what, sizeof(d->what), "'%s': '%s'", blobstore_path(bs),
		 name);
	if (digest && (r = blob_verify(bs, name, digest, size, err)))
		return r;
	if ((r = blob_read_all(bs, name, JSON_MAX, &buf, &len, err)))
		return r;
	r = json_parse_strict(buf, len, &d->root, err);
	free(buf);
	if (r)
		ek_error_prefix(err, "%s: not JSON as the image spec has it", d->what);
	return r;
}

static const char *type_name(enum json_type t)
{
	switch (t) {
	case JSON_STRING: return "a string";
	case JSON_ARRAY: return "an array";
	case JSON_OBJECT: return "an object";
	case JSON_U64: return "a non-negative integer";
	default: return "a value of its type";
	}
}

/* o[key] of type want, or NULL when o is NULL or the key is absent or
 * null. where names o ("config", "manifests[2]"). */
static int field(const struct doc *d, const struct json_value *o,
		 const char *where, const char *key, enum json_type want,
		 struct json_value **ret, struct ek_error *err)
{
	struct json_value *v = o ? json_object_get(o, key) : NULL;

	*ret = NULL;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != want)
		return ek_fail(err, EK_EFORMAT, "%s: %s%s%s: not %s", d->what,
			       where, *where ? "." : "", key, type_name(want));
	if (want == JSON_STRING && strlen(v->str.ptr) != v->str.len)
		return ek_fail(err, EK_EFORMAT, "%s: %s%s%s: contains NUL",
			       d->what, where, *where ? "." : "", key);
	*ret = v;
	return 0;
}

/* A string field: *s is NULL when absent. */
static int str_field(const struct doc *d, const struct json_value *o,
		     const char *where, const char *key, const char **s,
		     struct ek_error *err)
{
	struct json_value *v;
	int r = field(d, o, where, key, JSON_STRING, &v, err);

	*s = v ? v->str.ptr : NULL;
	return r;
}

/* The i-th item of an array, of type want (null is not one). */
static int item(const struct doc *d, const struct json_value *a,
		const char *where, size_t i, enum json_type want,
		struct json_value **ret, struct ek_error *err)
{
	struct json_value *v = a->arr.items[i];

	*ret = NULL;
	if (v->type != want)
		return ek_fail(err, EK_EFORMAT, "%s: %s[%zu]: not %s", d->what,
			       where, i, type_name(want));
	if (want == JSON_STRING && strlen(v->str.ptr) != v->str.len)
		return ek_fail(err, EK_EFORMAT, "%s: %s[%zu]: contains NUL",
			       d->what, where, i);
	*ret = v;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* "sha256:<hex>" -> "blobs/sha256/<hex>", checking the form. */
static char *blob_name(const char *digest)
{
	const char *colon = digest ? strchr(digest, ':') : NULL;
	char *out;

	if (!colon || colon == digest || !colon[1] ||
	    strspn(colon + 1, "0123456789abcdef") != strlen(colon + 1) ||
	    strspn(digest, "abcdefghijklmnopqrstuvwxyz0123456789") !=
		    (size_t)(colon - digest))
		return NULL;
	if (asprintf(&out, "blobs/%.*s/%s", (int)(colon - digest), digest,
		     colon + 1) < 0)
		return NULL;
	return out;
}

/* An array of strings (Entrypoint, Cmd, Env): each item must be a
 * string without NUL, or the whole is refused ("config.Cmd[1]: not a
 * string"): docker run would not run what a changed list says. */
static int get_strings(const struct doc *d, const struct json_value *cfg,
		       const char *where, const char *key,
		       struct oci_strings *out, struct ek_error *err)
{
	struct json_value *a, *v;
	char path[64];
	int r = field(d, cfg, where, key, JSON_ARRAY, &a, err);

	memset(out, 0, sizeof(*out));
	if (r || !a)
		return r;
	snprintf(path, sizeof(path), "%s.%s", where, key);
	out->v = calloc(a->arr.len + 1, sizeof(char *));
	if (!out->v)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	out->present = true;
	for (size_t i = 0; i < a->arr.len; i++) {
		if ((r = item(d, a, path, i, JSON_STRING, &v, err)))
			return r;
		if (!(out->v[out->n++] = strdup(v->str.ptr)))
			return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	return 0;
}

static void free_strings(struct oci_strings *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* A string field copied into *out (NULL when absent). */
static int copy_str(const struct doc *d, const struct json_value *o,
		    const char *where, const char *key, char **out,
		    struct ek_error *err)
{
	const char *v;
	int r = str_field(d, o, where, key, &v, err);

	if (r == 0 && v && !(*out = strdup(v)))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	return r;
}

/* The image config: Entrypoint, Cmd, Env, WorkingDir, User, platform. */
static int read_config(struct blobstore *bs, const char *name,
		       const char *digest, int64_t size, struct oci_image *img,
		       struct ek_error *err)
{
	struct json_value *cfg = NULL;
	const char *where = "config";
	struct doc d;
	int r = load_json(bs, name, digest, size, &d, err);

	if (r == 0 && d.root->type != JSON_OBJECT)
		r = ek_fail(err, EK_EFORMAT, "%s: not an object", d.what);
	if (r == 0 && json_object_get(d.root, "config") == NULL &&
	    json_object_get(d.root, "Config"))
		where = "Config"; /* docker's older form */
	if (r == 0)
		r = field(&d, d.root, "", where, JSON_OBJECT, &cfg, err);
	if (r == 0)
		r = get_strings(&d, cfg, where, "Entrypoint", &img->entrypoint, err);
	if (r == 0)
		r = get_strings(&d, cfg, where, "Cmd", &img->cmd, err);
	if (r == 0)
		r = get_strings(&d, cfg, where, "Env", &img->env, err);
	if (r == 0)
		r = copy_str(&d, cfg, where, "WorkingDir", &img->workdir, err);
	if (r == 0)
		r = copy_str(&d, cfg, where, "User", &img->user, err);
	if (r == 0)
		r = copy_str(&d, d.root, "", "architecture", &img->arch, err);
	if (r == 0)
		r = copy_str(&d, d.root, "", "os", &img->os, err);
	if (r == 0)
		r = copy_str(&d, d.root, "", "variant", &img->variant, err);
	if (r == 0 && !(img->config_digest = strdup(digest)))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	doc_release(&d);
	return r;
}

void oci_image_release(struct oci_image *img)
{
	for (size_t i = 0; i < img->nlayers; i++) {
		free(img->layers[i].name);
		free(img->layers[i].digest);
		free(img->layers[i].media_type);
	}
	free(img->layers);
	free_strings(&img->entrypoint);
	free_strings(&img->cmd);
	free_strings(&img->env);
	free(img->ref);
	free(img->manifest_digest);
	free(img->config_digest);
	free(img->workdir);
	free(img->user);
	free(img->arch);
	free(img->os);
	free(img->variant);
	memset(img, 0, sizeof(*img));
}

static int add_layer(struct oci_image *img, const char *name,
		     const char *digest, int64_t size, const char *mt)
{
	struct oci_layer *l = realloc(img->layers,
				      (img->nlayers + 1) * sizeof(*l));

	if (!l)
		return -1;
	img->layers = l;
	l += img->nlayers++;
	l->name = strdup(name);
	l->digest = strdup(digest);
	l->size = size;
	l->media_type = dup_or_null(mt);
	return l->name && l->digest ? 0 : -1;
}

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

static bool known_layer(const char *mt)
{
	for (size_t i = 0; mt && i < ARRAY_SIZE(layer_types); i++)
		if (!strcmp(mt, layer_types[i]))
			return true;
	return false;
}

static bool is_index(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
		      !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

/* A descriptor's size: required by the image spec, and checked with the
 * digest, so a descriptor without one (or with a negative one) is
 * refused rather than letting the size check pass by default. */
static int desc_size(const struct doc *d, const struct json_value *desc,
		     const char *what, const char *digest, int64_t *size,
		     struct ek_error *err)
{
	struct json_value *sz = desc ? json_object_get(desc, "size") : NULL;

	*size = -1;
	if (sz && sz->type == JSON_U64 && sz->u <= INT64_MAX) {
		*size = (int64_t)sz->u;
		return 0;
	}
	return ek_fail(err, EK_EFORMAT, "%s: %s %.80s has %s", d->what,
		       what, digest ? digest : "",
		       !sz ? "no size" : sz->type == JSON_I64 ? "a negative size"
			   : "a size that is not an integer");
}

/* A descriptor from an index, with where it came from. */
struct cand {
	const struct json_value *desc; /* borrowed from its index */
	const struct doc *doc;         /* the index, for messages */
	const char *ref;               /* the ref annotation it inherited */
};

#define SEEN_MAX 16

struct cands {
	struct cand v[64];
	size_t n;
	struct doc keep[32];          /* nested indexes, freed at the end */
	size_t nkeep;
	struct strbuf seen;           /* what the store holds, for messages */
	size_t nseen;
};

/* A descriptor's fields, read and type-checked once. */
struct desc {
	const char *media_type, *digest, *ref;
	const char *os, *arch, *variant;
	bool has_platform;
};

/* Annotations are a map of strings (the image spec): any other value is
 * refused, not skipped. */
static int read_desc(const struct doc *d, const struct json_value *o,
		     const char *where, struct desc *out, struct ek_error *err)
{
	struct json_value *ann = NULL, *plat = NULL;
	char sub[64];
	int r;

	memset(out, 0, sizeof(*out));
	if (!o || o->type != JSON_OBJECT)
		return ek_fail(err, EK_EFORMAT, "%s: %s: not an object", d->what,
			       where);
	r = str_field(d, o, where, "mediaType", &out->media_type, err);
	if (r == 0)
		r = str_field(d, o, where, "digest", &out->digest, err);
	if (r == 0)
		r = field(d, o, where, "annotations", JSON_OBJECT, &ann, err);
	snprintf(sub, sizeof(sub), "%s.annotations", where);
	for (size_t i = 0; r == 0 && ann && i < ann->obj.len; i++) {
		const struct json_member *m = &ann->obj.members[i];
		const char *v;

		r = str_field(d, ann, sub, m->key, &v, err);
		if (r == 0 && v && !out->ref && !strcmp(m->key, ANN_REF))
			out->ref = v;
	}
	if (r == 0 && !out->ref)
		r = str_field(d, ann, sub, ANN_CONTAINERD, &out->ref, err);
	if (r == 0)
		r = field(d, o, where, "platform", JSON_OBJECT, &plat, err);
	snprintf(sub, sizeof(sub), "%s.platform", where);
	out->has_platform = plat != NULL;
	if (r == 0)
		r = str_field(d, plat, sub, "os", &out->os, err);
	if (r == 0)
		r = str_field(d, plat, sub, "architecture", &out->arch, err);
	if (r == 0)
		r = str_field(d, plat, sub, "variant", &out->variant, err);
	return r;
}

static bool ref_matches(const char *want, const char *have)
{
	size_t wl, hl;

	if (!want)
		return true;
	if (!have)
		return false;
	if (!strcmp(want, have))
		return true;
	/* "busybox:latest" matches "docker.io/library/busybox:latest" */
	wl = strlen(want);
	hl = strlen(have);
	return hl > wl && have[hl - wl - 1] == '/' && !strcmp(have + hl - wl, want);
}

static int platform_ok(const struct desc *d, const char *goarch)
{
	if (!d->has_platform)
		return 1; /* no platform: decided by the config */
	if (!d->arch || strcmp(d->arch, goarch) || !d->os || strcmp(d->os, "linux"))
		return 0;
	return !d->variant || strcmp(goarch, "arm64") || !strcmp(d->variant, "v8");
}

/* Note a manifest (or an index not looked into) for "it holds: ...". */
static void note_seen(struct cands *c, const struct desc *d, const char *ref,
		      bool index)
{
	if (c->nseen++ >= SEEN_MAX) {
		if (c->nseen == SEEN_MAX + 1)
			strbuf_addstr(&c->seen, ", ...");
		return;
	}
	strbuf_addf(&c->seen, "%s%.100s", c->seen.len ? ", " : "",
		    ref ? ref : "(no name)");
	if (d->has_platform)
		strbuf_addf(&c->seen, " (%.20s/%.20s%s%.20s)", d->os ? d->os : "?",
			    d->arch ? d->arch : "?", d->variant ? "/" : "",
			    d->variant ? d->variant : "");
	if (index)
		strbuf_addstr(&c->seen, " (index)");
}

static int collect(struct blobstore *bs, const struct doc *index,
		   const char *ref, const char *inherited, const char *goarch,
		   struct cands *c, int depth, struct ek_error *err);

static int expand_index(struct blobstore *bs, const struct doc *parent,
			const struct json_value *o, const struct desc *d,
			const char *ref, const char *inherited,
			const char *goarch, struct cands *c, int depth,
			struct ek_error *err)
{
	char *name = blob_name(d->digest);
	int64_t size;
	int r;

	if (!name)
		return ek_fail(err, EK_EFORMAT, "'%s': bad digest '%.80s'",
			       blobstore_path(bs), d->digest ? d->digest : "");
	if (depth > 3 || c->nkeep == ARRAY_SIZE(c->keep)) {
		free(name);
		return ek_fail(err, EK_ELIMIT, "'%s': indexes nested too deep "
			       "or too many of them", blobstore_path(bs));
	}
	r = desc_size(parent, o, "index", d->digest, &size, err);
	if (r == 0)
		r = load_json(bs, name, d->digest, size, &c->keep[c->nkeep], err);
	free(name);
	if (r)
		return r;
	return collect(bs, &c->keep[c->nkeep++], ref, inherited, goarch, c,
		       depth + 1, err);
}

static const char *cand_digest(const struct cand *c)
{
	const struct json_value *v = json_object_get(c->desc, "digest");

	return v && v->type == JSON_STRING ? v->str.ptr : "";
}

static bool same_digest(const struct cands *c, const char *digest)
{
	for (size_t i = 0; digest && i < c->n; i++)
		if (!strcmp(digest, cand_digest(&c->v[i])))
			return true;
	return false;
}

/* Gather the manifests of index (and nested indexes) that match ref and
 * the platform. A nested index whose ref matches is searched without the
 * ref (its manifests inherit it); one without a ref of its own is searched
 * for the ref. Two descriptors of the same manifest count once. */
static int collect(struct blobstore *bs, const struct doc *index,
		   const char *ref, const char *inherited, const char *goarch,
		   struct cands *c, int depth, struct ek_error *err)
{
	struct json_value *list;
	int r = index->root->type == JSON_OBJECT
		? field(index, index->root, "", "manifests", JSON_ARRAY, &list, err)
		: ek_fail(err, EK_EFORMAT, "%s: not an object", index->what);

	if (r == 0 && !list)
		return ek_fail(err, EK_EFORMAT, "'%s': an index without "
			       "manifests", blobstore_path(bs));
	for (size_t i = 0; r == 0 && i < list->arr.len; i++) {
		const struct json_value *o = list->arr.items[i];
		char where[32];
		struct desc d;
		const char *rf;
		bool match;

		snprintf(where, sizeof(where), "manifests[%zu]", i);
		if ((r = read_desc(index, o, where, &d, err)))
			break;
		rf = d.ref ? d.ref : inherited;
		match = ref_matches(ref, rf);
		if (is_index(d.media_type)) {
			if (!match && d.ref) {
				note_seen(c, &d, rf, true);
				continue;
			}
			r = expand_index(bs, index, o, &d, match ? NULL : ref, rf,
					 goarch, c, depth, err);
			continue;
		}
		note_seen(c, &d, rf, false);
		if (!match || !platform_ok(&d, goarch) || same_digest(c, d.digest))
			continue;
		if (c->n == ARRAY_SIZE(c->v))
			return ek_fail(err, EK_ELIMIT, "'%s': more than %zu "
				       "images match", blobstore_path(bs),
				       ARRAY_SIZE(c->v));
		c->v[c->n].desc = o;
		c->v[c->n].doc = index;
		c->v[c->n++].ref = rf;
	}
	return r;
}

static int pick(struct blobstore *bs, const struct doc *index,
		const char *ref, const char *goarch, struct cands *c,
		struct ek_error *err)
{
	int r = collect(bs, index, ref, NULL, goarch, c, 0, err);

	if (r || c->n == 1)
		return r;
	return ek_fail(err, EK_EINVAL, "'%s': %s image matches%s%.200s for "
		       "linux/%s; it holds: %s", blobstore_path(bs),
		       c->n ? "more than one" : "no", ref ? " ref " : "",
		       ref ? ref : "", goarch, !strbuf_ok(&c->seen) ? "?"
		       : c->seen.len ? c->seen.buf : "nothing");
}

static int read_layers(struct blobstore *bs, const struct doc *m,
		       const struct json_value *layers, struct oci_image *img,
		       struct ek_error *err)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < layers->arr.len; i++) {
		const struct json_value *l = layers->arr.items[i];
		char where[32];
		struct desc d;
		char *ln = NULL;
		int64_t ls;

		snprintf(where, sizeof(where), "layers[%zu]", i);
		if ((r = read_desc(m, l, where, &d, err)))
			break;
		if (!(ln = blob_name(d.digest)))
			r = ek_fail(err, EK_EFORMAT, "'%s': layer %zu: bad digest "
				    "'%.80s'", blobstore_path(bs), i,
				    d.digest ? d.digest : "");
		else if (!known_layer(d.media_type))
			r = ek_fail(err, EK_EFORMAT, "'%s': layer %zu (%s): unknown "
				    "media type '%.80s'", blobstore_path(bs), i,
				    d.digest, d.media_type ? d.media_type : "");
		else if ((r = desc_size(m, l, "layer", d.digest, &ls, err)) == 0 &&
			 add_layer(img, ln, d.digest, ls, d.media_type))
			r = ek_fail(err, EK_ENOMEM, "out of memory");
		free(ln);
	}
	return r;
}

static int read_manifest(struct blobstore *bs, const struct cand *cd,
			 struct oci_image *img, struct ek_error *err)
{
	const char *digest = cand_digest(cd), *cdigest = NULL;
	struct json_value *cfg = NULL, *layers = NULL;
	char *name = blob_name(digest), *cname = NULL;
	struct doc m = { 0 };
	int64_t size;
	int r;

	if (!name)
		return ek_fail(err, EK_EFORMAT, "'%s': bad manifest digest "
			       "'%.80s'", blobstore_path(bs), digest);
	r = desc_size(cd->doc, cd->desc, "manifest", digest, &size, err);
	if (r == 0)
		r = load_json(bs, name, digest, size, &m, err);
	free(name);
	if (r == 0 && m.root->type != JSON_OBJECT)
		r = ek_fail(err, EK_EFORMAT, "%s: not an object", m.what);
	if (r == 0 && !(img->manifest_digest = strdup(digest)))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	if (r == 0)
		r = field(&m, m.root, "", "config", JSON_OBJECT, &cfg, err);
	if (r == 0)
		r = field(&m, m.root, "", "layers", JSON_ARRAY, &layers, err);
	if (r == 0)
		r = str_field(&m, cfg, "config", "digest", &cdigest, err);
	if (r == 0 && (!cfg || !layers || !(cname = blob_name(cdigest))))
		r = ek_fail(err, EK_EFORMAT, "'%s': manifest %s has no config "
			    "or layers, or a bad config digest",
			    blobstore_path(bs), digest);
	if (r == 0)
		r = read_layers(bs, &m, layers, img, err);
	if (r == 0 && (r = desc_size(&m, cfg, "config", cdigest, &size, err)) == 0)
		r = read_config(bs, cname, cdigest, size, img, err);
	free(cname);
	doc_release(&m);
	return r;
}

static void cands_release(struct cands *c)
{
	for (size_t i = 0; i < c->nkeep; i++)
		doc_release(&c->keep[i]);
	strbuf_release(&c->seen);
}

static int resolve_oci(struct blobstore *bs, const char *ref,
		       const char *goarch, struct oci_image *img,
		       struct ek_error *err)
{
	struct doc index;
	struct cands c;
	int r = load_json(bs, "index.json", NULL, -1, &index, err);

	if (r)
		return r;
	memset(&c, 0, sizeof(c));
	strbuf_init(&c.seen);
	r = pick(bs, &index, ref, goarch, &c, err);
	if (r == 0) {
		img->ref = dup_or_null(c.v[0].ref);
		r = read_manifest(bs, &c.v[0], img, err);
	}
	cands_release(&c);
	doc_release(&index);
	return r;
}

/* "blobs/<alg>/<hex>" or "<hex>.json" -> "<alg>:<hex>". */
static char *digest_from_name(const char *name)
{
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	size_t hl = strspn(base, "0123456789abcdef");
	char *out;

	if (!strncmp(name, "blobs/", 6) && base > name + 6 && hl == strlen(base)) {
		if (asprintf(&out, "%.*s:%s", (int)(base - name - 7), name + 6,
			     base) < 0)
			return NULL;
		return out;
	}
	if (hl == 64 && !strcmp(base + 64, ".json") && base == name) {
		if (asprintf(&out, "sha256:%.64s", base) < 0)
			return NULL;
		return out;
	}
	return NULL;
}

/* The one entry of manifest.json that ref selects (any, without ref).
 * *tag: the first RepoTag of that entry that ref matches (any when there
 * is no ref), as the archive spells it: DockerInfo's Ref. */
static int docker_entry(struct blobstore *bs, const struct doc *list,
			const char *ref, const struct json_value **hit,
			const char **tag, struct ek_error *err)
{
	size_t found = 0;
	struct strbuf sb;
	int r = 0;

	*hit = NULL;
	strbuf_init(&sb);
	for (size_t i = 0; r == 0 && i < list->root->arr.len; i++) {
		struct json_value *e, *tags = NULL, *t;
		const char *first = NULL;
		char where[32];
		bool match = !ref;

		snprintf(where, sizeof(where), "[%zu]", i);
		r = item(list, list->root, "", i, JSON_OBJECT, &e, err);
		if (r == 0)
			r = field(list, e, where, "RepoTags", JSON_ARRAY, &tags, err);
		snprintf(where, sizeof(where), "[%zu].RepoTags", i);
		for (size_t k = 0; r == 0 && tags && k < tags->arr.len; k++) {
			if ((r = item(list, tags, where, k, JSON_STRING, &t, err)))
				break;
			strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", t->str.ptr);
			if (!first && ref_matches(ref, t->str.ptr))
				first = t->str.ptr;
			match = match || ref_matches(ref, t->str.ptr);
		}
		if (!tags || !tags->arr.len)
			strbuf_addf(&sb, "%s(untagged)", sb.len ? ", " : "");
		if (r == 0 && match) {
			*hit = e;
			*tag = first;
			found++;
		}
	}
	if (r == 0 && found != 1)
		r = ek_fail(err, EK_EINVAL, "'%s': %s image matches%s%s; it "
			    "holds: %s", blobstore_path(bs),
			    found ? "more than one" : "no", ref ? " ref " : "",
			    ref ? ref : "", sb.len ? sb.buf : "nothing");
	strbuf_release(&sb);
	return r;
}

static int docker_layers(struct blobstore *bs, const struct doc *list,
			 const struct json_value *entry, const char *cname,
			 const char *cdigest, struct oci_image *img,
			 struct ek_error *err)
{
	struct json_value *layers = NULL, *rootfs = NULL, *diff = NULL, *v;
	struct doc cfg;
	int r = load_json(bs, cname, cdigest, -1, &cfg, err);

	if (r)
		return r;
	r = field(list, entry, "manifest", "Layers", JSON_ARRAY, &layers, err);
	if (r == 0)
		r = field(&cfg, cfg.root, "", "rootfs", JSON_OBJECT, &rootfs, err);
	if (r == 0)
		r = field(&cfg, rootfs, "rootfs", "diff_ids", JSON_ARRAY, &diff, err);
	for (size_t i = 0; r == 0 && layers && i < layers->arr.len; i++) {
		const char *ln, *d = NULL;
		char *dg;

		if ((r = item(list, layers, "manifest.Layers", i, JSON_STRING,
			      &v, err)))
			break;
		ln = v->str.ptr;
		dg = digest_from_name(ln);
		d = dg;
		if (!d && diff && i < diff->arr.len) {
			r = item(&cfg, diff, "rootfs.diff_ids", i, JSON_STRING,
				 &v, err);
			d = r ? NULL : v->str.ptr;
		}
		if (r == 0 && !d)
			r = ek_fail(err, EK_EFORMAT, "'%s': layer %zu has no digest "
				    "to check it against", blobstore_path(bs), i);
		else if (r == 0 && add_layer(img, ln, d, -1, NULL))
			r = ek_fail(err, EK_ENOMEM, "out of memory");
		free(dg);
	}
	doc_release(&cfg);
	return r;
}

/* The newer docker save form holds an OCI layout too: the manifest of
 * the chosen image is the one of index.json (for the platform) whose
 * config is the one manifest.json names. Its digest goes to DockerInfo;
 * every blob on the way is checked. Not found: left NULL. */
static int docker_manifest(struct blobstore *bs, const char *goarch,
			   struct oci_image *img, struct ek_error *err)
{
	struct doc index;
	struct cands c;
	const char *found = NULL;
	int r;

	if (!blobstore_exists(bs, "index.json"))
		return 0;
	if ((r = load_json(bs, "index.json", NULL, -1, &index, err)))
		return r;
	memset(&c, 0, sizeof(c));
	strbuf_init(&c.seen);
	r = collect(bs, &index, NULL, NULL, goarch, &c, 0, err);
	for (size_t i = 0; r == 0 && i < c.n; i++) {
		const char *digest = cand_digest(&c.v[i]), *cd = NULL;
		char *name = blob_name(digest);
		struct json_value *cfg = NULL;
		struct doc m = { 0 };
		int64_t size;

		if (!name) {
			r = ek_fail(err, EK_EFORMAT, "'%s': bad manifest digest "
				    "'%.80s'", blobstore_path(bs), digest);
			break;
		}
		r = desc_size(c.v[i].doc, c.v[i].desc, "manifest", digest, &size,
			      err);
		if (r == 0)
			r = load_json(bs, name, digest, size, &m, err);
		free(name);
		if (r == 0 && m.root->type != JSON_OBJECT)
			r = ek_fail(err, EK_EFORMAT, "%s: not an object", m.what);
		if (r == 0)
			r = field(&m, m.root, "", "config", JSON_OBJECT, &cfg, err);
		if (r == 0)
			r = str_field(&m, cfg, "config", "digest", &cd, err);
		if (r == 0 && cd && !strcmp(img->config_digest, cd)) {
			if (found) /* two manifests of one config: say none */
				found = "";
			else
				found = digest;
		}
		doc_release(&m);
	}
	if (r == 0 && found && *found &&
	    !(img->manifest_digest = strdup(found)))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	cands_release(&c);
	doc_release(&index);
	return r;
}

static int resolve_docker(struct blobstore *bs, const char *ref,
			  const char *goarch, struct oci_image *img,
			  struct ek_error *err)
{
	const struct json_value *entry = NULL;
	const char *cname = NULL, *tag = NULL;
	char *cdigest = NULL;
	struct doc list;
	int r;

	if (!blobstore_exists(bs, "manifest.json") &&
	    blobstore_exists(bs, "index.json"))
		return ek_fail(err, EK_EFORMAT, "'%s': no manifest.json: an OCI "
			       "archive (see --oci-archive), not what docker "
			       "save writes", blobstore_path(bs));
	if ((r = load_json(bs, "manifest.json", NULL, -1, &list, err)))
		return r;
	if (list.root->type != JSON_ARRAY)
		r = ek_fail(err, EK_EFORMAT, "'%s': manifest.json is not a "
			    "list", blobstore_path(bs));
	if (r == 0)
		r = docker_entry(bs, &list, ref, &entry, &tag, err);
	if (r == 0)
		r = str_field(&list, entry, "manifest", "Config", &cname, err);
	if (r == 0 && (!cname || !(cdigest = digest_from_name(cname))))
		r = ek_fail(err, EK_EFORMAT, "'%s': Config '%s' does not name "
			    "its digest", blobstore_path(bs), cname ? cname : "");
	if (r == 0)
		r = read_config(bs, cname, cdigest, -1, img, err);
	if (r == 0)
		r = docker_layers(bs, &list, entry, cname, cdigest, img, err);
	if (r == 0 && !strncmp(cname, "blobs/", 6))
		r = docker_manifest(bs, goarch, img, err);
	if (r == 0 && tag && !(img->ref = strdup(tag)))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	free(cdigest);
	doc_release(&list);
	return r;
}
int oci_resolve(struct blobstore *bs, enum oci_kind kind, const char *ref,
		const char *goarch, struct oci_image *img,
		struct ek_error *err)
{
	int r;

	memset(img, 0, sizeof(*img));
	r = kind == DOCKER_ARCHIVE ? resolve_docker(bs, ref, goarch, img, err)
				   : resolve_oci(bs, ref, goarch, img, err);
	if (r == 0 && img->os && strcmp(img->os, "linux"))
		r = ek_fail(err, EK_EINVAL, "'%s': the image is for %s/%s, not "
			    "linux", blobstore_path(bs), img->os,
			    img->arch ? img->arch : "?");
	else if (r == 0 && img->arch && strcmp(img->arch, goarch))
		r = ek_fail(err, EK_EINVAL, "'%s': the image is for %s/%s, not "
			    "linux/%s (see --arch)", blobstore_path(bs),
			    img->os ? img->os : "?", img->arch, goarch);
	if (r)
		oci_image_release(img);
	return r;
}
