/* image.c: what assemble and build share: the arch flag, the metadata
 * defaults and the measurements they print. */
#include "base/internal.h"

#include <stdio.h>
#include <unistd.h>

#include "base/io.h"
#include "base/text.h"
#include "cli.h"
#include "eif/eif.h"
#include "eif/kernel.h"
#include "eif/metadata.h"

const char *cli_base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int cli_parse_arch(const char *arch, uint16_t *flags, struct ek_error *err)
{
	if (!arch || !strcmp(arch, "x86_64"))
		*flags = 0;
	else if (!strcmp(arch, "aarch64"))
		*flags = EIF_FLAG_ARM64;
	else
		return ek_fail(err, EK_EINVAL, "--arch '%s': unknown architecture "
			       "(x86_64 or aarch64)", arch);
	return 0;
}

/* Fill the identity's defaults: reproducible ones where eif_build uses
 * the clock or its own name. Explicit flags beat --kernel-config. */
/* The metadata strings are shown to people (describe, verify, nitro-cli):
 * text that would need escaping there is refused where it is made. */
static int check_identity(const struct eif_identity *id, struct ek_error *err)
{
	const struct { const char *what, *s; } f[] = {
		{ "--name (or the name from the folder or image)", id->image_name },
		{ "--version", id->image_version },
		{ "--img-os (or the kernel config)", id->operating_system },
		{ "--img-kernel (or the kernel config)", id->kernel_version },
		{ "--build-tool", id->build_tool },
		{ "--build-tool-version", id->build_tool_version },
	};

	for (size_t i = 0; i < ARRAY_SIZE(f); i++)
		if (text_needs_escape(f[i].s, strlen(f[i].s), TEXT_KEEP_SPACES))
			return ek_fail(err, EK_EINVAL, "%s '%s': holds control "
				       "characters or invalid UTF-8, which the "
				       "metadata must not", f[i].what, f[i].s);
	return 0;
}

int cli_kernel_open(const char *cmd, const char *path, bool arm64, bool check,
		    bool format_ok, struct kernel_info *ki, uint64_t *size,
		    struct ek_error *err)
{
	bool compressed = false;
	int r, fd = io_open_input(path, 0, size, err);

	memset(ki, 0, sizeof(*ki));
	if (fd < 0 || !check)
		return fd;
	r = kernel_inspect(fd, 0, *size, path, ki, err);
	if (r == 0)
		r = kernel_check(ki, arm64, path, &compressed, err);
	if (r) {
		close(fd);
		return r;
	}
	if (compressed && !format_ok)
		cli_warn(cmd, "'%s': %s; AWS's aarch64 kernel is an uncompressed "
			 "Image and Nitro may boot nothing else "
			 "(--kernel-format-ok to go on quietly)", path,
			 kernel_format_name(ki->format));
	return fd;
}

int cli_fill_identity(struct eif_identity *id, const char *default_name,
		      const char *kconfig, const struct kernel_info *ki,
		      char *time_buf, size_t time_size, char **os, char **kver,
		      struct ek_error *err)
{
	int ret;

	if (kconfig) {
		ret = metadata_kernel_config(kconfig, os, kver, err);
		if (ret)
			return ret;
		if (ki && !kernel_config_matches(ki, *kver))
			return ek_fail(err, EK_EINVAL, "'%s': the config of "
				       "Linux %s, but the kernel is %s", kconfig,
				       *kver, ki->version);
		if (!id->operating_system)
			id->operating_system = *os;
		if (!id->kernel_version)
			id->kernel_version = *kver;
	}
	if (id->build_time && !metadata_is_rfc3339(id->build_time))
		return ek_fail(err, EK_EINVAL, "--build-time '%s': not an RFC 3339 "
			       "date-time (like 2024-01-01T00:00:00+00:00)",
			       id->build_time);
	if (!id->build_time) {
		int64_t epoch;

		ret = cli_source_date_epoch(&epoch, err);
		if (ret)
			return ret;
		metadata_rfc3339(epoch, time_buf, time_size);
		id->build_time = time_buf;
	}
	if (!id->image_name)
		id->image_name = default_name;
	if (!id->image_version)
		id->image_version = "1.0";
	if (!id->build_tool)
		id->build_tool = "eifkit";
	if (!id->build_tool_version)
		id->build_tool_version = EIFKIT_VERSION;
	if (!id->operating_system)
		id->operating_system = "OS";
	if (!id->kernel_version && ki && ki->release[0])
		id->kernel_version = ki->release;
	if (!id->kernel_version)
		id->kernel_version = "kernel";
	return check_identity(id, err);
}

int cli_source_date_epoch(int64_t *ret, struct ek_error *err)
{
	return metadata_parse_epoch(getenv("SOURCE_DATE_EPOCH"), ret, err);
}

const char *cli_tmpdir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && *dir ? dir : "/tmp";
}

int cli_out_open(struct cli_out *o, const char *eif, const char *pcrs,
		 struct ek_error *err)
{
	int r;

	o->eif.fd = o->pcrs.fd = -1;
	o->eif.tmp = o->pcrs.tmp = o->eif.path = o->pcrs.path = NULL;
	r = io_outfile_open(&o->eif, eif, err);
	if (r == 0 && pcrs)
		r = io_outfile_open(&o->pcrs, pcrs, err);
	if (r)
		cli_out_abort(o);
	return r;
}

void cli_out_abort(struct cli_out *o)
{
	io_outfile_abort(&o->eif);
	io_outfile_abort(&o->pcrs);
}

int cli_out_finish(struct cli_out *o, const struct eif_write_result *res,
		   struct ek_error *err)
{
	struct json_value *m = measurements_json(res->pcr,
						 res->is_signed ? res->pcr8 : NULL);
	struct json_value *top = json_new_object();
	int r = 0;

	if (!m || !top || json_object_push(top, "Measurements", json_clone(m)))
		r = ek_fail(err, EK_ENOMEM, "out of memory");
	if (r == 0 && o->pcrs.fd >= 0)
		r = write_json_fd(o->pcrs.fd, o->pcrs.path, m, err);
	if (r == 0 && (print_json(top) || fflush(stdout) != 0 || ferror(stdout)))
		r = ek_fail_errno(err, EK_EIO, errno, "cannot write to stdout");
	if (r == 0 && o->pcrs.fd >= 0)
		r = io_outfile_commit(&o->pcrs, err);
	if (r == 0)
		r = io_outfile_commit(&o->eif, err);
	if (r)
		cli_out_abort(o);
	json_free(m);
	json_free(top);
	return r;
}
