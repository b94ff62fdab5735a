/* Unit tests for the EIF format, writer, reader, measurements and the
 * metadata writer. Expected values come from EIF-FORMAT.md section 16
 * (computed there by AWS's code and an independent Python model). */
#include "base/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/io.h"
#include "eif/eif.h"
#include "eif/metadata.h"
#include "unit.h"

static const char pcr_empty[] =
	"21b9efbc184807662e966d34f390821309eeac6802309798826296bf3e8bec7c"
	"10edb30948c90ba67310f7b964fc500a";
static const char pcr_a[] =
	"f747ae356bd32914b8a5e3155c8f45221979a938e20a06e889e35d3e83ed0e80"
	"25173c9447909771cadddc3b6f84563a";
static const char meta_a[] =
	"{\"ImageName\":\"test\",\"ImageVersion\":\"1.0\",\"BuildMetadata\":"
	"{\"BuildTime\":\"2024-01-01T00:00:00+00:00\",\"BuildTool\":\"eif_build\","
	"\"BuildToolVersion\":\"0.3.1\",\"OperatingSystem\":\"OS\","
	"\"KernelVersion\":\"kernel\"},\"DockerInfo\":null,\"CustomMetadata\":null}";

static uint8_t kernel[1000], rd0[120], rd1[240];

static void make_inputs(void)
{
	for (int i = 0; i < 1000; i++)
		kernel[i] = (uint8_t)(7 * i + 3);
	for (int i = 0; i < 10; i++)
		memcpy(rd0 + 12 * i, "ramdisk-zero", 12);
	for (int i = 0; i < 20; i++)
		memcpy(rd1 + 12 * i, "ramdisk-one!", 12);
}

TEST(pcr_of_nothing)
{
	uint8_t pcr[PCR_LEN];
	char hex[PCR_HEX_LEN + 1];

	pcr_of_bytes("", 0, pcr);
	pcr_hex(pcr, hex);
	CHECK_STR(hex, pcr_empty);
}

TEST(metadata_bytes_8_1)
{
	struct eif_identity id = {
		"test", "1.0", "2024-01-01T00:00:00+00:00", "eif_build", "0.3.1",
		"OS", "kernel", NULL, NULL,
	};
	struct strbuf sb;

	strbuf_init(&sb);
	metadata_serialize(&id, &sb);
	CHECK(strbuf_ok(&sb));
	CHECK(sb.len == 238);
	CHECK_STR(sb.buf, meta_a);
	strbuf_release(&sb);
}

static char tmpdir[] = "/tmp/eifkit-unit-XXXXXX";

/* eif_write into an output file, made visible on success. */
static int write_file(const char *path, const struct eif_wsection *s,
		      unsigned n, struct eif_write_result *res,
		      struct ek_error *err)
{
	struct io_outfile out;
	int r = io_outfile_open(&out, path, err);

	if (r == 0)
		r = eif_write(out.fd, path, s, n, &(struct eif_write_opts){ 0 },
			      res, err);
	if (r == 0)
		return io_outfile_commit(&out, err);
	io_outfile_abort(&out);
	return r;
}

static int write_a(const char *path, struct eif_write_result *res,
		   struct ek_error *err)
{
	struct eif_wsection s[4];

	s[0].type = EIF_SEC_KERNEL;
	eif_source_mem(&s[0].src, "k", kernel, sizeof(kernel));
	s[1].type = EIF_SEC_CMDLINE;
	eif_source_mem(&s[1].src, "c", "console=ttyS0 reboot=k", 22);
	s[2].type = EIF_SEC_METADATA;
	eif_source_mem(&s[2].src, "m", meta_a, strlen(meta_a));
	s[3].type = EIF_SEC_RAMDISK;
	eif_source_mem(&s[3].src, "r", rd0, sizeof(rd0));
	return write_file(path, s, 4, res, err);
}

TEST(vector_a_bytes)
{
	static const uint8_t head[] = {
		0x2e, 0x65, 0x69, 0x66, 0, 4, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 4,
		0, 0, 0, 0, 0, 0, 0x02, 0x24, 0, 0, 0, 0, 0, 0, 0x06, 0x18,
	};
	char path[256], hex[PCR_HEX_LEN + 1];
	struct eif_write_result res;
	struct ek_error err;
	uint8_t buf[2048];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/a.eif", tmpdir);
	CHECK(write_a(path, &res, &err) == 0);
	CHECK(res.file_size == 1976);
	pcr_hex(res.pcr[0], hex);
	CHECK_STR(hex, pcr_a);
	pcr_hex(res.pcr[2], hex);
	CHECK_STR(hex, pcr_empty);
	fd = open(path, O_RDONLY);
	n = io_read_full(fd, buf, sizeof(buf));
	close(fd);
	CHECK(n == 1976);
	CHECK(memcmp(buf, head, sizeof(head)) == 0);
	/* CRC32 = 0xc0b06230 (EIF-FORMAT.md 16.1) */
	CHECK(buf[544] == 0xc0 && buf[545] == 0xb0 && buf[546] == 0x62 &&
	      buf[547] == 0x30);
}

TEST(reader_round_trip)
{
	char path[256], hex[PCR_HEX_LEN + 1];
	struct eif_write_result res;
	struct eif_image img;
	struct ek_error err;

	snprintf(path, sizeof(path), "%s/r.eif", tmpdir);
	CHECK(write_a(path, &res, &err) == 0);
	CHECK(eif_open(path, &img, 0, &err) == 0);
	CHECK(img.crc_ok);
	CHECK(img.crc_computed == 0xc0b06230);
	CHECK(img.nsec == 4 && img.nramdisks == 1);
	CHECK(img.kernel == 0 && img.cmdline == 1 && img.metadata == 2);
	CHECK(img.signature == -1);
	CHECK(img.metadata_len == 238);
	pcr_hex(img.pcr[1], hex);
	CHECK_STR(hex, pcr_a);
	eif_image_release(&img);
}

TEST(writer_refuses_33_sections)
{
	struct eif_wsection s[33];
	struct eif_write_result res;
	struct ek_error err;
	char path[256];

	for (int i = 0; i < 33; i++) {
		s[i].type = i ? EIF_SEC_RAMDISK : EIF_SEC_KERNEL;
		eif_source_mem(&s[i].src, "x", "x", 1);
	}
	snprintf(path, sizeof(path), "%s/big.eif", tmpdir);
	CHECK(write_file(path, s, 33, &res, &err) == EK_ELIMIT);
	CHECK(strstr(err.msg, "33 sections") != NULL);
	CHECK(access(path, F_OK) != 0);
}

TEST(header_round_trip)
{
	struct eif_header h, g;
	uint8_t buf[EIF_HDR_SIZE];

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, EIF_MAGIC, 4);
	h.version = 4;
	h.flags = 1;
	h.num_sections = 32;
	for (int i = 0; i < 32; i++) {
		h.section_offsets[i] = 0x0102030405060708ULL + (uint64_t)i;
		h.section_sizes[i] = UINT64_MAX - (uint64_t)i;
	}
	h.crc32 = 0xdeadbeef;
	eif_header_encode(&h, buf);
	CHECK(buf[28] == 1 && buf[35] == 8 && buf[544] == 0xde);
	memset(&g, 0, sizeof(g));
	eif_header_decode(buf, &g);
	CHECK(memcmp(&h, &g, sizeof(h)) == 0);
}

TEST(rfc3339)
{
	char buf[40];

	metadata_rfc3339(0, buf, sizeof(buf));
	CHECK_STR(buf, "1970-01-01T00:00:00+00:00");
	metadata_rfc3339(1704067200, buf, sizeof(buf));
	CHECK_STR(buf, "2024-01-01T00:00:00+00:00");
	metadata_rfc3339(253402300799LL, buf, sizeof(buf));
	CHECK_STR(buf, "9999-12-31T23:59:59+00:00");
	CHECK(metadata_is_rfc3339("2024-01-01T00:00:00+00:00"));
	CHECK(metadata_is_rfc3339("2024-07-09T17:16:38.424202433+00:00"));
	CHECK(metadata_is_rfc3339("2024-07-09T17:16:38Z"));
	CHECK(!metadata_is_rfc3339("2024-07-09 17:16:38Z"));
	CHECK(!metadata_is_rfc3339("2024-13-09T17:16:38Z"));
	CHECK(!metadata_is_rfc3339("2024-07-09T17:16:38+0000"));
	CHECK(!metadata_is_rfc3339("2024-07-09T17:16:38.Z"));
	CHECK(!metadata_is_rfc3339("2024-07-09T17:16:38Zjunk"));
}

TEST(kernel_config)
{
	static const struct {
		const char *text, *os, *kver;
	} cases[] = {
		{ "#\n# Automatically generated\n"
		  "# Linux/x86_64 4.14.256-209.484.amzn2.x86_64 Kernel "
		  "Configuration\n", "Linux", "4.14.256" },
		{ "a\nb\n# Linux/arm64 6.6.79 Kernel Configuration\n", "Linux",
		  "6.6.79" },
		{ "a\nb\nc\n", "Unknown", "Unknown" },
		{ "a\r\nb\r\n# X/y z\r\n", "X", "z" },
		{ "a\nb\n#\n", "Unknown", "Unknown" },
	};
	char path[256];

	snprintf(path, sizeof(path), "%s/k.config", tmpdir);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		FILE *f = fopen(path, "w");
		char *os = NULL, *kver = NULL;
		struct ek_error err;

		fputs(cases[i].text, f);
		fclose(f);
		CHECK(metadata_kernel_config(path, &os, &kver, &err) == 0);
		CHECK_STR(os, cases[i].os);
		CHECK_STR(kver, cases[i].kver);
		free(os);
		free(kver);
	}
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		return 1;
	make_inputs();
	RUN(pcr_of_nothing);
	RUN(metadata_bytes_8_1);
	RUN(vector_a_bytes);
	RUN(reader_round_trip);
	RUN(writer_refuses_33_sections);
	RUN(header_round_trip);
	RUN(rfc3339);
	RUN(kernel_config);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return unit_done();
}
