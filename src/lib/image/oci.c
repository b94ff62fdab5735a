#include "base/internal.h"

#include <stdio.h>

#include <json-c/json.h>

#include "base/strbuf.h"
#include "image/oci.h"

#define JSON_MAX (16u << 20)
#define ANN_REF "org.opencontainers.image.ref.name"
#define ANN_CONTAINERD "io.containerd.image.name"

static int parse_json(const char *buf, size_t len, const char *what,
		      struct json_object **ret, struct ek_error *err)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *o;

	if (!tok)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_parse_end(tok) != len) {
		ek_fail(err, EK_EFORMAT, "%s: not JSON (%s)", what,
			json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(o);
		json_tokener_free(tok);
		return err->code;
	}
	json_tokener_free(tok);
	*ret = o;
	return 0;
}

/* Read, optionally verify, and parse a JSON member. */
static int load_json(struct blobstore *bs, const char *name,
		     const char *digest, int64_t size,
		     struct json_object **ret, struct ek_error *err)
{
	char *buf, what[512];
	size_t len;
	int r;

	if (digest && (r = blob_verify(bs, name, digest, size, err)))
		return r;
	if ((r = blob_read_all(bs, name, JSON_MAX, &buf, &len, err)))
		return r;
	snprintf(what, sizeof(what), "'%s': '%s'", blobstore_path(bs), name);
	r = parse_json(buf, len, what, ret, err);
	free(buf);
	return r;
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *member(struct json_object *o, const char *key,
				  json_type type)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
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

static int get_strings(struct json_object *cfg, const char *key,
		       struct oci_strings *out)
{
	struct json_object *a = member(cfg, key, json_type_array);
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!a)
		return 0;
	n = json_object_array_length(a);
	out->v = calloc(n + 1, sizeof(char *));
	if (!out->v)
		return -1;
	out->present = true;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));

		if (!(out->v[out->n++] = strdup(s ? s : "")))
			return -1;
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

/* The image config: Entrypoint, Cmd, Env, WorkingDir, User, platform. */
static int read_config(struct blobstore *bs, const char *name,
		       const char *digest, int64_t size, struct oci_image *img,
		       struct ek_error *err)
{
	struct json_object *root, *cfg;
	int r = load_json(bs, name, digest, size, &root, err);

	if (r)
		return r;
	cfg = member(root, "config", json_type_object);
	if (!cfg)
		cfg = member(root, "Config", json_type_object);
	if (get_strings(cfg, "Entrypoint", &img->entrypoint) ||
	    get_strings(cfg, "Cmd", &img->cmd) || get_strings(cfg, "Env", &img->env))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	img->workdir = dup_or_null(str_of(cfg, "WorkingDir"));
	img->user = dup_or_null(str_of(cfg, "User"));
	img->arch = dup_or_null(str_of(root, "architecture"));
	img->os = dup_or_null(str_of(root, "os"));
	img->variant = dup_or_null(str_of(root, "variant"));
	img->config_digest = strdup(digest);
	if (r == 0 && !img->config_digest)
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	json_object_put(root);
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
static int desc_size(struct blobstore *bs, struct json_object *d,
		     const char *what, int64_t *size, struct ek_error *err)
{
	struct json_object *sz = member(d, "size", json_type_int);
	const char *digest = str_of(d, "digest");

	*size = sz ? json_object_get_int64(sz) : -1;
	if (*size < 0)
		return ek_fail(err, EK_EFORMAT, "'%s': %s %.80s has %s size",
			       blobstore_path(bs), what, digest ? digest : "",
			       sz ? "a negative" : "no");
	return 0;
}

/* A descriptor from an index, with where it came from. */
struct cand {
	struct json_object *desc; /* borrowed from its index */
	const char *ref;          /* the ref annotation it inherited */
};

#define SEEN_MAX 16

struct cands {
	struct cand v[64];
	size_t n;
	struct json_object *keep[32]; /* nested indexes, freed at the end */
	size_t nkeep;
	struct strbuf seen;           /* what the store holds, for messages */
	size_t nseen;
};

static const char *desc_ref(struct json_object *d)
{
	struct json_object *ann = member(d, "annotations", json_type_object);
	const char *r = str_of(ann, ANN_REF);

	return r ? r : str_of(ann, ANN_CONTAINERD);
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

static int platform_ok(struct json_object *d, const char *goarch)
{
	struct json_object *p = member(d, "platform", json_type_object);
	const char *arch = str_of(p, "architecture"), *os = str_of(p, "os");
	const char *variant = str_of(p, "variant");

	if (!p)
		return 1; /* no platform: decided by the config */
	if (!arch || strcmp(arch, goarch) || !os || strcmp(os, "linux"))
		return 0;
	return !variant || strcmp(goarch, "arm64") || !strcmp(variant, "v8");
}

/* Note a manifest (or an index not looked into) for "it holds: ...". */
static void note_seen(struct cands *c, struct json_object *d, const char *ref,
		      bool index)
{
	struct json_object *p = member(d, "platform", json_type_object);
	const char *os = str_of(p, "os"), *arch = str_of(p, "architecture");
	const char *variant = str_of(p, "variant");

	if (c->nseen++ >= SEEN_MAX) {
		if (c->nseen == SEEN_MAX + 1)
			strbuf_addstr(&c->seen, ", ...");
		return;
	}
	strbuf_addf(&c->seen, "%s%.100s", c->seen.len ? ", " : "",
		    ref ? ref : "(no name)");
	if (p)
		strbuf_addf(&c->seen, " (%.20s/%.20s%s%.20s)", os ? os : "?",
			    arch ? arch : "?", variant ? "/" : "",
			    variant ? variant : "");
	if (index)
		strbuf_addstr(&c->seen, " (index)");
}

static int collect(struct blobstore *bs, struct json_object *index,
		   const char *ref, const char *inherited, const char *goarch,
		   struct cands *c, int depth, struct ek_error *err);

static int expand_index(struct blobstore *bs, struct json_object *d,
			const char *ref, const char *inherited,
			const char *goarch, struct cands *c, int depth,
			struct ek_error *err)
{
	const char *digest = str_of(d, "digest");
	char *name = blob_name(digest);
	struct json_object *sub;
	int64_t size;
	int r;

	if (!name)
		return ek_fail(err, EK_EFORMAT, "'%s': bad digest '%.80s'",
			       blobstore_path(bs), digest ? digest : "");
	if (depth > 3 || c->nkeep == ARRAY_SIZE(c->keep)) {
		free(name);
		return ek_fail(err, EK_ELIMIT, "'%s': indexes nested too deep "
			       "or too many of them", blobstore_path(bs));
	}
	r = desc_size(bs, d, "index", &size, err);
	if (r == 0)
		r = load_json(bs, name, digest, size, &sub, err);
	free(name);
	if (r)
		return r;
	c->keep[c->nkeep++] = sub;
	return collect(bs, sub, ref, inherited, goarch, c, depth + 1, err);
}

static bool same_digest(const struct cands *c, struct json_object *d)
{
	const char *dg = str_of(d, "digest");

	for (size_t i = 0; dg && i < c->n; i++)
		if (!strcmp(dg, str_of(c->v[i].desc, "digest")
				    ? str_of(c->v[i].desc, "digest") : ""))
			return true;
	return false;
}

/* Gather the manifests of index (and nested indexes) that match ref and
 * the platform. A nested index whose ref matches is searched without the
 * ref (its manifests inherit it); one without a ref of its own is searched
 * for the ref. Two descriptors of the same manifest count once. */
static int collect(struct blobstore *bs, struct json_object *index,
		   const char *ref, const char *inherited, const char *goarch,
		   struct cands *c, int depth, struct ek_error *err)
{
	struct json_object *list = member(index, "manifests", json_type_array);
	size_t n = list ? json_object_array_length(list) : 0;

	if (!list)
		return ek_fail(err, EK_EFORMAT, "'%s': an index without "
			       "manifests", blobstore_path(bs));
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(list, i);
		const char *r = desc_ref(d) ? desc_ref(d) : inherited;
		bool match = ref_matches(ref, r);
		int ret;

		if (!json_object_is_type(d, json_type_object))
			continue;
		if (is_index(str_of(d, "mediaType"))) {
			if (!match && desc_ref(d)) {
				note_seen(c, d, r, true);
				continue;
			}
			ret = expand_index(bs, d, match ? NULL : ref, r, goarch,
					   c, depth, err);
			if (ret)
				return ret;
			continue;
		}
		note_seen(c, d, r, false);
		if (!match || !platform_ok(d, goarch) || same_digest(c, d))
			continue;
		if (c->n == ARRAY_SIZE(c->v))
			return ek_fail(err, EK_ELIMIT, "'%s': more than %zu "
				       "images match", blobstore_path(bs),
				       ARRAY_SIZE(c->v));
		c->v[c->n].desc = d;
		c->v[c->n++].ref = r;
	}
	return 0;
}

static int pick(struct blobstore *bs, struct json_object *index,
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

static int read_manifest(struct blobstore *bs, struct json_object *desc,
			 struct oci_image *img, struct ek_error *err)
{
	const char *digest = str_of(desc, "digest");
	struct json_object *m, *cfg, *layers;
	char *name = blob_name(digest), *cname = NULL;
	int64_t size;
	int r;

	if (!name)
		return ek_fail(err, EK_EFORMAT, "'%s': bad manifest digest "
			       "'%.80s'", blobstore_path(bs), digest ? digest : "");
	r = desc_size(bs, desc, "manifest", &size, err);
	if (r == 0)
		r = load_json(bs, name, digest, size, &m, err);
	free(name);
	if (r)
		return r;
	img->manifest_digest = strdup(digest);
	cfg = member(m, "config", json_type_object);
	layers = member(m, "layers", json_type_array);
	if (!cfg || !layers || !(cname = blob_name(str_of(cfg, "digest"))))
		r = ek_fail(err, EK_EFORMAT, "'%s': manifest %s has no config "
			    "or layers, or a bad config digest",
			    blobstore_path(bs), digest);
	for (size_t i = 0; r == 0 && i < json_object_array_length(layers); i++) {
		struct json_object *l = json_object_array_get_idx(layers, i);
		const char *mt = str_of(l, "mediaType"), *ld = str_of(l, "digest");
		char *ln = blob_name(ld);
		int64_t ls;

		if (!ln)
			r = ek_fail(err, EK_EFORMAT, "'%s': layer %zu: bad digest "
				    "'%.80s'", blobstore_path(bs), i, ld ? ld : "");
		else if (!known_layer(mt))
			r = ek_fail(err, EK_EFORMAT, "'%s': layer %zu (%s): unknown "
				    "media type '%.80s'", blobstore_path(bs), i,
				    ld, mt ? mt : "");
		else if ((r = desc_size(bs, l, "layer", &ls, err)) == 0 &&
			 add_layer(img, ln, ld, ls, mt))
			r = ek_fail(err, EK_ENOMEM, "out of memory");
		free(ln);
	}
	if (r == 0 && (r = desc_size(bs, cfg, "config", &size, err)) == 0)
		r = read_config(bs, cname, str_of(cfg, "digest"), size, img, err);
	free(cname);
	json_object_put(m);
	return r;
}

static void cands_release(struct cands *c)
{
	for (size_t i = 0; i < c->nkeep; i++)
		json_object_put(c->keep[i]);
	strbuf_release(&c->seen);
}

static int resolve_oci(struct blobstore *bs, const char *ref,
		       const char *goarch, struct oci_image *img,
		       struct ek_error *err)
{
	struct json_object *index;
	struct cands c;
	int r = load_json(bs, "index.json", NULL, -1, &index, err);

	if (r)
		return r;
	memset(&c, 0, sizeof(c));
	strbuf_init(&c.seen);
	r = pick(bs, index, ref, goarch, &c, err);
	if (r == 0) {
		img->ref = dup_or_null(c.v[0].ref);
		r = read_manifest(bs, c.v[0].desc, img, err);
	}
	cands_release(&c);
	json_object_put(index);
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

/* *tag: the first RepoTag of the entry found that ref matches (any when
 * there is no ref), as the archive spells it: DockerInfo's Ref. */
static struct json_object *docker_entry(struct blobstore *bs,
					struct json_object *list,
					const char *ref, const char **tag,
					struct ek_error *err)
{
	size_t n = json_object_array_length(list), found = 0;
	struct json_object *hit = NULL;
	struct strbuf sb;

	strbuf_init(&sb);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		struct json_object *tags = member(e, "RepoTags", json_type_array);
		size_t nt = tags ? json_object_array_length(tags) : 0;
		bool match = !ref;
		const char *first = NULL;

		for (size_t k = 0; k < nt; k++) {
			const char *t = json_object_get_string(
				json_object_array_get_idx(tags, k));

			strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", t ? t : "?");
			if (t && !first && ref_matches(ref, t))
				first = t;
			match = match || ref_matches(ref, t);
		}
		if (!nt)
			strbuf_addf(&sb, "%s(untagged)", sb.len ? ", " : "");
		if (match) {
			hit = e;
			*tag = first;
			found++;
		}
	}
	if (found != 1)
		ek_fail(err, EK_EINVAL, "'%s': %s image matches%s%s; it holds: %s",
			blobstore_path(bs), found ? "more than one" : "no",
			ref ? " ref " : "", ref ? ref : "",
			sb.len ? sb.buf : "nothing");
	strbuf_release(&sb);
	return found == 1 ? hit : NULL;
}

static int docker_layers(struct blobstore *bs, struct json_object *entry,
			 const char *cname, const char *cdigest,
			 struct oci_image *img, struct ek_error *err)
{
	struct json_object *layers = member(entry, "Layers", json_type_array);
	struct json_object *cfg, *diff;
	int r = load_json(bs, cname, cdigest, -1, &cfg, err);

	if (r)
		return r;
	diff = member(member(cfg, "rootfs", json_type_object), "diff_ids",
		      json_type_array);
	for (size_t i = 0; r == 0 && layers && i < json_object_array_length(layers); i++) {
		const char *ln = json_object_get_string(json_object_array_get_idx(layers, i));
		char *dg = ln ? digest_from_name(ln) : NULL;
		const char *d = dg ? dg : diff && i < json_object_array_length(diff)
			? json_object_get_string(json_object_array_get_idx(diff, i)) : NULL;

		if (!ln || !d)
			r = ek_fail(err, EK_EFORMAT, "'%s': layer %zu has no digest "
				    "to check it against", blobstore_path(bs), i);
		else if (add_layer(img, ln, d, -1, NULL))
			r = ek_fail(err, EK_ENOMEM, "out of memory");
		free(dg);
	}
	json_object_put(cfg);
	return r;
}

/* The newer docker save form holds an OCI layout too: the manifest of
 * the chosen image is the one of index.json (for the platform) whose
 * config is the one manifest.json names. Its digest goes to DockerInfo;
 * every blob on the way is checked. Not found: left NULL. */
static int docker_manifest(struct blobstore *bs, const char *goarch,
			   struct oci_image *img, struct ek_error *err)
{
	struct json_object *index;
	struct cands c;
	const char *found = NULL;
	int r;

	if (!blobstore_exists(bs, "index.json"))
		return 0;
	if ((r = load_json(bs, "index.json", NULL, -1, &index, err)))
		return r;
	memset(&c, 0, sizeof(c));
	strbuf_init(&c.seen);
	r = collect(bs, index, NULL, NULL, goarch, &c, 0, err);
	for (size_t i = 0; r == 0 && i < c.n; i++) {
		const char *digest = str_of(c.v[i].desc, "digest");
		char *name = blob_name(digest);
		struct json_object *m = NULL;
		const char *cd;
		int64_t size;

		if (!name) {
			r = ek_fail(err, EK_EFORMAT, "'%s': bad manifest digest "
				    "'%.80s'", blobstore_path(bs),
				    digest ? digest : "");
			break;
		}
		r = desc_size(bs, c.v[i].desc, "manifest", &size, err);
		if (r == 0)
			r = load_json(bs, name, digest, size, &m, err);
		free(name);
		cd = str_of(member(m, "config", json_type_object), "digest");
		if (r == 0 && cd && !strcmp(img->config_digest, cd)) {
			if (found) /* two manifests of one config: say none */
				found = "";
			else
				found = digest;
		}
		json_object_put(m);
	}
	if (r == 0 && found && *found &&
	    !(img->manifest_digest = strdup(found)))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	cands_release(&c);
	json_object_put(index);
	return r;
}

static int resolve_docker(struct blobstore *bs, const char *ref,
			  const char *goarch, struct oci_image *img,
			  struct ek_error *err)
{
	struct json_object *list, *entry;
	const char *cname, *tag = NULL;
	char *cdigest = NULL;
	int r;

	if (!blobstore_exists(bs, "manifest.json") &&
	    blobstore_exists(bs, "index.json"))
		return ek_fail(err, EK_EFORMAT, "'%s': no manifest.json: an OCI "
			       "archive (see --oci-archive), not what docker "
			       "save writes", blobstore_path(bs));
	if ((r = load_json(bs, "manifest.json", NULL, -1, &list, err)))
		return r;
	if (!json_object_is_type(list, json_type_array)) {
		json_object_put(list);
		return ek_fail(err, EK_EFORMAT, "'%s': manifest.json is not a "
			       "list", blobstore_path(bs));
	}
	entry = docker_entry(bs, list, ref, &tag, err);
	cname = str_of(entry, "Config");
	if (!entry)
		r = err->code;
	else if (!cname || !(cdigest = digest_from_name(cname)))
		r = ek_fail(err, EK_EFORMAT, "'%s': Config '%s' does not name "
			    "its digest", blobstore_path(bs), cname ? cname : "");
	if (r == 0)
		r = read_config(bs, cname, cdigest, -1, img, err);
	if (r == 0)
		r = docker_layers(bs, entry, cname, cdigest, img, err);
	if (r == 0 && !strncmp(cname, "blobs/", 6))
		r = docker_manifest(bs, goarch, img, err);
	if (r == 0 && tag && !(img->ref = strdup(tag)))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	free(cdigest);
	json_object_put(list);
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
