#include "base/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <time.h>

#include "base/io.h"
#include "eif/metadata.h"

const char *const metadata_build_keys[METADATA_BUILD_KEYS] = {
	"BuildTime", "BuildTool", "BuildToolVersion", "OperatingSystem",
	"KernelVersion",
};

static void put_key_string(struct strbuf *out, const char *key,
			   const char *val, int comma)
{
	struct json_value s = { .type = JSON_STRING };

	s.str.ptr = (char *)val;
	s.str.len = strlen(val);
	if (comma)
		strbuf_addch(out, ',');
	strbuf_addf(out, "\"%s\":", key);
	json_write(out, &s, -1);
}

static void put_value(struct strbuf *out, const char *key,
		      const struct json_value *v)
{
	strbuf_addf(out, ",\"%s\":", key);
	if (v)
		json_write(out, v, -1);
	else
		strbuf_addstr(out, "null");
}

void metadata_serialize(const struct eif_identity *id, struct strbuf *out)
{
	const char *build[] = {
		id->build_time, id->build_tool, id->build_tool_version,
		id->operating_system, id->kernel_version,
	};

	strbuf_addch(out, '{');
	put_key_string(out, "ImageName", id->image_name, 0);
	put_key_string(out, "ImageVersion", id->image_version, 1);
	strbuf_addstr(out, ",\"BuildMetadata\":{");
	for (size_t i = 0; i < ARRAY_SIZE(metadata_build_keys); i++)
		put_key_string(out, metadata_build_keys[i], build[i], i > 0);
	strbuf_addch(out, '}');
	put_value(out, "DockerInfo", id->docker_info);
	put_value(out, "CustomMetadata", id->custom);
	strbuf_addch(out, '}');
}

int metadata_load_custom(const char *path, struct json_value **ret,
			 struct ek_error *err)
{
	uint8_t *buf;
	size_t len;
	int r = io_read_small_file(path, METADATA_CUSTOM_MAX, &buf, &len, err);

	if (r == EK_ELIMIT)
		return ek_fail(err, EK_ELIMIT,
			       "'%s': custom metadata exceeds %d bytes", path,
			       METADATA_CUSTOM_MAX);
	if (r)
		return r;
	r = json_parse((const char *)buf, len, ret, err);
	free(buf);
	if (r)
		ek_error_prefix(err, "'%s': custom metadata is not JSON", path);
	return r;
}

/* Split line at each ' ', '/' and '-' and return piece idx (or NULL). */
static char *piece(const char *line, size_t len, int idx)
{
	size_t start = 0;
	int n = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ' && line[i] != '/' && line[i] != '-')
			continue;
		if (n++ == idx)
			return strndup(line + start, i - start);
		start = i + 1;
	}
	return strdup("Unknown");
}

int metadata_kernel_config(const char *path, char **os_ret, char **kver_ret,
			   struct ek_error *err)
{
	uint8_t *buf;
	size_t len, start = 0, end;
	int line = 0, r = io_read_small_file(path, 1u << 20, &buf, &len, err);

	if (r == EK_ELIMIT) /* only the first three lines matter */
		r = ek_fail(err, EK_ELIMIT, "'%s': kernel config over 1 MiB", path);
	if (r)
		return r;
	while (line < 2 && start < len) {
		const uint8_t *nl = memchr(buf + start, '\n', len - start);

		if (!nl)
			break;
		start = (size_t)(nl - buf) + 1;
		line++;
	}
	if (line < 2 || start >= len) {
		free(buf);
		return ek_fail(err, EK_EFORMAT,
			       "'%s': a kernel config needs at least 3 lines", path);
	}
	end = start;
	while (end < len && buf[end] != '\n')
		end++;
	if (end > start && buf[end - 1] == '\r')
		end--;
	*os_ret = piece((char *)buf + start, end - start, 1);
	*kver_ret = piece((char *)buf + start, end - start, 3);
	free(buf);
	if (!*os_ret || !*kver_ret) {
		free(*os_ret);
		free(*kver_ret);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	return 0;
}

void metadata_rfc3339(int64_t epoch, char *buf, size_t size)
{
	struct tm tm;
	time_t t = (time_t)epoch;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d+00:00",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
}

int metadata_parse_epoch(const char *s, int64_t *ret, struct ek_error *err)
{
	int64_t v = 0;

	if (s && *s) {
		for (const char *p = s; *p; p++) {
			if (!isdigit((unsigned char)*p) || v > 25340230079LL)
				return ek_fail(err, EK_EINVAL,
					       "SOURCE_DATE_EPOCH='%s': not a "
					       "number of seconds from 0 to "
					       "253402300799", s);
			v = v * 10 + (*p - '0');
		}
	}
	*ret = v;
	return 0;
}

static int digits(const char *s, int n, int lo, int hi)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi;
}

int metadata_is_rfc3339(const char *s)
{
	if (strlen(s) < 20 || !digits(s, 4, 0, 9999) || s[4] != '-' ||
	    !digits(s + 5, 2, 1, 12) || s[7] != '-' ||
	    !digits(s + 8, 2, 1, 31) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, 0, 23) || s[13] != ':' ||
	    !digits(s + 14, 2, 0, 59) || s[16] != ':' ||
	    !digits(s + 17, 2, 0, 60))
		return 0;
	s += 19;
	if (*s == '.') {
		if (!isdigit((unsigned char)s[1]))
			return 0;
		while (isdigit((unsigned char)s[1]))
			s++;
		s++;
	}
	if ((*s == 'Z' || *s == 'z') && !s[1])
		return 1;
	return (*s == '+' || *s == '-') && digits(s + 1, 2, 0, 23) &&
	       s[3] == ':' && digits(s + 4, 2, 0, 59) && !s[6];
}

static int need(const struct json_value *obj, const char *key,
		enum json_type type, const struct json_value **ret,
		struct ek_error *err)
{
	const struct json_value *v = json_object_get(obj, key);

	if (!v)
		return ek_fail(err, EK_EFORMAT,
			       "metadata section: missing field '%s'", key);
	if (type != JSON_NULL && v->type != type)
		return ek_fail(err, EK_EFORMAT,
			       "metadata section: field '%s' has the wrong type",
			       key);
	*ret = v;
	return 0;
}

int metadata_parse(const uint8_t *buf, size_t len, struct eif_metadata *m,
		   struct ek_error *err)
{
	const struct json_value *name, *ver, *dummy;
	int r;

	memset(m, 0, sizeof(*m));
	r = json_parse((const char *)buf, len, &m->root, err);
	if (r) {
		ek_error_prefix(err, "metadata section is not JSON");
		return r;
	}
	if (m->root->type != JSON_OBJECT) {
		r = ek_fail(err, EK_EFORMAT, "metadata section: not an object");
		goto fail;
	}
	if ((r = need(m->root, "ImageName", JSON_STRING, &name, err)) ||
	    (r = need(m->root, "ImageVersion", JSON_STRING, &ver, err)) ||
	    (r = need(m->root, "BuildMetadata", JSON_OBJECT, &m->build, err)) ||
	    (r = need(m->root, "DockerInfo", JSON_NULL, &m->docker_info, err)) ||
	    (r = need(m->root, "CustomMetadata", JSON_NULL, &m->custom, err)))
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(metadata_build_keys); i++)
		if ((r = need(m->build, metadata_build_keys[i], JSON_STRING, &dummy, err)))
			goto fail;
	m->image_name = name->str.ptr;
	m->image_name_len = name->str.len;
	m->image_version = ver->str.ptr;
	m->image_version_len = ver->str.len;
	return 0;
fail:
	metadata_release(m);
	return r;
}

void metadata_release(struct eif_metadata *m)
{
	json_free(m->root);
	memset(m, 0, sizeof(*m));
}
