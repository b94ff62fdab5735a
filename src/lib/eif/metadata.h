/* metadata.h: the EIF metadata section (type 5), EIF-FORMAT.md section 8.
 *
 * The section is serde_json::to_vec(EifIdentityInfo): compact JSON with
 * the top-level keys ImageName, ImageVersion, BuildMetadata (BuildTime,
 * BuildTool, BuildToolVersion, OperatingSystem, KernelVersion),
 * DockerInfo and CustomMetadata, in that order. */
#ifndef EIFKIT_LIB_METADATA_H
#define EIFKIT_LIB_METADATA_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/json.h"
#include "base/strbuf.h"

#define METADATA_CUSTOM_MAX 4096 /* bytes of a --metadata file (8.2) */
#define METADATA_BUILD_KEYS 5

/* BuildMetadata's keys in serde's struct order. */
extern const char *const metadata_build_keys[METADATA_BUILD_KEYS];

struct eif_identity {
	const char *image_name;
	const char *image_version;
	const char *build_time;
	const char *build_tool;
	const char *build_tool_version;
	const char *operating_system;
	const char *kernel_version;
	const struct json_value *docker_info; /* NULL: null */
	const struct json_value *custom;      /* NULL: null */
};

/* Append the compact serialisation to out (errors sticky in out). */
void metadata_serialize(const struct eif_identity *id, struct strbuf *out);

/* Read a --metadata file: a regular file of at most 4096 bytes holding
 * one JSON value. *ret is freed with json_free. */
int metadata_load_custom(const char *path, struct json_value **ret,
			 struct ek_error *err);

/* OperatingSystem and KernelVersion from a kernel .config as nitro-cli
 * derives them: the third line split at every ' ', '/' and '-'; pieces 1
 * and 3, or "Unknown". Results are malloc'd. */
int metadata_kernel_config(const char *path, char **os_ret, char **kver_ret,
			   struct ek_error *err);

/* epoch formatted as chrono's to_rfc3339 ("1970-01-01T00:00:00+00:00"),
 * as eifkit's default build time; buf needs 32 bytes. */
void metadata_rfc3339(int64_t epoch, char *buf, size_t size);
/* A SOURCE_DATE_EPOCH value (s may be NULL: unset) as seconds: a decimal
 * count from 0 to 253402300799; 0 when unset or empty. The caller reads
 * the environment. */
int metadata_parse_epoch(const char *s, int64_t *ret, struct ek_error *err);
/* Is s an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM))? */
int metadata_is_rfc3339(const char *s);

/* A parsed metadata section, checked as nitro-cli's reader checks it:
 * all five top-level keys present, ImageName/ImageVersion and the five
 * BuildMetadata values strings. Pointers borrow from root. */
struct eif_metadata {
	struct json_value *root;
	const char *image_name, *image_version; /* may hold NUL: */
	size_t image_name_len, image_version_len; /* their lengths */
	const struct json_value *build;       /* the BuildMetadata object */
	const struct json_value *docker_info;
	const struct json_value *custom;
};

int metadata_parse(const uint8_t *buf, size_t len, struct eif_metadata *m,
		   struct ek_error *err);
void metadata_release(struct eif_metadata *m);

#endif
