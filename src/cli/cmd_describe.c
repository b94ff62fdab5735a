/* cmd_describe.c: what nitro-cli describe-eif prints, or a summary. */
#include "base/internal.h"

#include <getopt.h>
#include <stdio.h>

#include "base/io.h"
#include "base/strbuf.h"
#include "cli.h"
#include "eif/eif.h"
#include "eif/metadata.h"
#include "eif/sign.h"
#include "base/text.h"
#include "ramdisk/cpio_read.h"

static const char usage[] = "usage: eifkit describe [--text] FILE.eif\n";
static const char help[] =
	"usage: eifkit describe [--text] FILE.eif\n"
	"\n"
	"Check an EIF's layout and print what it holds. By default the JSON of\n"
	"nitro-cli describe-eif: EifVersion, Measurements, IsSigned,\n"
	"SigningCertificate, CheckCRC, SignatureCheck, ImageName, ImageVersion\n"
	"and Metadata (custom metadata merged in).\n"
	"\n"
	"  --text       a readable summary: arch, sections, PCRs, signature,\n"
	"               metadata, and the app init runs (cmd, env, workdir)\n"
	"  -h, --help   this help\n";

struct facts {
	struct eif_image img;
	struct eif_metadata meta;
	struct sig_info sig;
	bool have_meta, have_sig, sig_check;
};

static int gather(const char *path, struct facts *f, struct ek_error *err)
{
	int ret;

	memset(f, 0, sizeof(*f));
	ret = eif_open(path, &f->img, 0, err);
	if (ret)
		return ret;
	if (f->img.metadata_buf) {
		ret = metadata_parse(f->img.metadata_buf, f->img.metadata_len,
				     &f->meta, err);
		if (ret) {
			ek_error_prefix(err, "'%s'", path);
			return ret;
		}
		f->have_meta = true;
	}
	if (f->img.signature_buf) {
		ret = sign_parse_section(f->img.signature_buf,
					 f->img.signature_len, &f->sig, err);
		if (ret) {
			ek_error_prefix(err, "'%s': signature section", path);
			return ret;
		}
		f->have_sig = true;
		f->sig_check = f->sig.cose_valid &&
			       sig_info_matches_pcr0(&f->sig, f->img.pcr[0]);
	}
	return 0;
}

static void release(struct facts *f)
{
	if (f->have_sig)
		sig_info_release(&f->sig);
	metadata_release(&f->meta);
	eif_image_release(&f->img);
}

/* Metadata as nitro-cli shows it: the build fields, DockerInfo, then the
 * custom metadata object's members merged in (serde flatten). */
static struct json_value *metadata_json(const struct eif_metadata *m)
{
	struct json_value *o = json_new_object();
	int bad = !o;

	for (size_t i = 0; !bad && i < METADATA_BUILD_KEYS; i++)
		bad = json_object_push(o, metadata_build_keys[i],
				       json_clone(json_object_get(m->build,
						metadata_build_keys[i])));
	if (!bad)
		bad = json_object_push(o, "DockerInfo", json_clone(m->docker_info));
	if (!bad && m->custom->type == JSON_OBJECT) {
		for (size_t i = 0; !bad && i < m->custom->obj.len; i++)
			bad = json_object_push(o, m->custom->obj.members[i].key,
					       json_clone(m->custom->obj.members[i].value));
	} else if (!bad && m->custom->type != JSON_NULL) {
		/* nitro-cli fails here; we show the value under its own name */
		bad = json_object_push(o, "CustomMetadata", json_clone(m->custom));
	}
	if (bad) {
		json_free(o);
		return NULL;
	}
	return o;
}

static struct json_value *describe_json(const struct facts *f)
{
	struct json_value *o = json_new_object();
	int bad = !o;

	bad = bad || json_object_push(o, "EifVersion",
				      json_new_u64(f->img.hdr.version));
	bad = bad || json_object_push(o, "Measurements",
				      measurements_json(f->img.pcr,
							f->have_sig ? f->sig.pcr8 : NULL));
	bad = bad || json_object_push(o, "IsSigned", json_new_bool(f->have_sig));
	if (f->have_sig)
		bad = bad || json_object_push(o, "SigningCertificate",
					      json_clone(f->sig.cert_json));
	bad = bad || json_object_push(o, "CheckCRC", json_new_bool(f->img.crc_ok));
	if (f->have_sig)
		bad = bad || json_object_push(o, "SignatureCheck",
					      json_new_bool(f->sig_check));
	if (f->have_meta) {
		bad = bad || json_object_push(o, "ImageName",
					      json_new_string(f->meta.image_name));
		bad = bad || json_object_push(o, "ImageVersion",
					      json_new_string(f->meta.image_version));
		bad = bad || json_object_push(o, "Metadata", metadata_json(&f->meta));
	}
	if (bad) {
		json_free(o);
		return NULL;
	}
	return o;
}

#define APP_FILE_MAX (64u << 10)

struct app_file {
	const char *name;
	uint64_t off;   /* file offset of the data */
	uint32_t size;
	bool found;
};

/* Find the cmd, env and workdir files init reads in the ramdisks (later
 * entries win, as when the kernel unpacks them). Ramdisks that are not
 * cpio newc are passed over. */
static void find_app_files(const struct eif_image *img, struct app_file *af,
			   size_t n)
{
	struct cpio_reader *r = malloc(sizeof(*r));
	struct cpio_entry *e = malloc(sizeof(*e));
	struct ek_error err;

	for (unsigned i = 0; r && e && i < img->nsec; i++) {
		if (img->sec[i].type != EIF_SEC_RAMDISK ||
		    cpio_reader_init(r, img->fd, img->sec[i].offset + EIF_SEC_HDR_SIZE,
				     img->sec[i].size, img->name, &err))
			continue;
		while (cpio_reader_next(r, e, &err) == 1)
			for (size_t k = 0; k < n; k++)
				if (!strcmp(e->name, af[k].name) &&
				    (e->mode & CPIO_IFMT) == CPIO_IFREG &&
				    e->filesize <= APP_FILE_MAX) {
					af[k].off = e->data_offset;
					af[k].size = e->filesize;
					af[k].found = true;
				}
	}
	free(r);
	free(e);
}

/* Each line of a file, escaped, as "  label  line". */
static void print_lines(const struct eif_image *img, const struct app_file *a,
			const char *label)
{
	char *buf = a->found ? malloc((size_t)a->size + 1) : NULL;
	struct strbuf sb;
	size_t start = 0;

	if (!buf || io_pread_full(img->fd, buf, a->size, a->off) != (ssize_t)a->size) {
		free(buf);
		return;
	}
	strbuf_init(&sb);
	for (size_t i = 0; i <= a->size; i++) {
		if (i < a->size && buf[i] != '\n')
			continue;
		if (i == a->size && i == start)
			break;
		strbuf_addf(&sb, "  %-8s ", label);
		text_escape(&sb, buf + start, i - start, TEXT_KEEP_SPACES);
		strbuf_addch(&sb, '\n');
		start = i + 1;
	}
	if (strbuf_ok(&sb))
		fputs(sb.buf, stdout);
	strbuf_release(&sb);
	free(buf);
}

/* What the enclave's init will run: the cmd, env and workdir files. */
static void print_app(const struct eif_image *img)
{
	struct app_file af[] = { { "cmd", 0, 0, false }, { "env", 0, 0, false },
				 { "workdir", 0, 0, false } };

	find_app_files(img, af, ARRAY_SIZE(af));
	if (!af[0].found && !af[1].found && !af[2].found)
		return;
	printf("app (cmd, env and workdir in the ramdisks):\n");
	print_lines(img, &af[0], "argv");
	print_lines(img, &af[1], "env");
	print_lines(img, &af[2], "workdir");
}

static void print_report(const struct facts *f)
{
	const struct eif_image *img = &f->img;
	char hex[PCR_HEX_LEN + 1];

	printf("file:      %s (%llu bytes)\n", img->name,
	       (unsigned long long)img->file_size);
	printf("version:   %u\n", img->hdr.version);
	printf("arch:      %s\n",
	       img->hdr.flags & EIF_FLAG_ARM64 ? "aarch64" : "x86_64");
	printf("crc:       0x%08x (%s)\n", img->hdr.crc32,
	       img->crc_ok ? "ok" : "MISMATCH");
	printf("sections:\n");
	for (unsigned i = 0; i < img->nsec; i++)
		printf("  %2u  %-9s  offset %10llu  size %10llu\n", i,
		       eif_section_name(img->sec[i].type),
		       (unsigned long long)img->sec[i].offset,
		       (unsigned long long)img->sec[i].size);
	for (int i = 0; i < 3; i++) {
		pcr_hex(img->pcr[i], hex);
		printf("PCR%d:      %s\n", i, hex);
	}
	if (f->have_sig) {
		pcr_hex(f->sig.pcr8, hex);
		printf("PCR8:      %s\n", hex);
		printf("signature: %s\n", f->sig_check ? "valid, signs PCR0" :
		       f->sig.cose_valid ? "valid, but not over this PCR0" :
		       "INVALID");
	} else {
		printf("signature: none\n");
	}
	if (f->have_meta) {
		printf("name:      ");
		print_text(f->meta.image_name, f->meta.image_name_len);
		printf("\nversion:   ");
		print_text(f->meta.image_version, f->meta.image_version_len);
		putchar('\n');
		for (size_t i = 0; i < METADATA_BUILD_KEYS; i++) {
			const struct json_value *s = json_object_get(
				f->meta.build, metadata_build_keys[i]);

			printf("%-18s ", metadata_build_keys[i]);
			print_text(s->str.ptr, s->str.len);
			putchar('\n');
		}
	}
	print_app(img);
}

int cmd_describe(int argc, char **argv)
{
	static const struct option options[] = {
		{ "text", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct facts f;
	struct ek_error err;
	struct json_value *j;
	int c, text = 0, ret = 0;

	while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (c == 'h')
			return print_help(help);
		if (c != 't')
			return option_error("describe", usage, c, argv);
		text = 1;
	}
	if (argc - optind != 1)
		return usage_error("describe", usage, "give one EIF file");
	if (gather(argv[optind], &f, &err)) {
		release(&f);
		return report("describe", &err);
	}
	if (text) {
		print_report(&f);
	} else {
		j = describe_json(&f);
		if (!j || print_json(j))
			ret = report("describe", &(struct ek_error){
				EK_ENOMEM, "cannot print the description" });
		json_free(j);
	}
	release(&f);
	return ret;
}
