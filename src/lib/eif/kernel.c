#include "base/internal.h"

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "base/io.h"
#include "eif/kernel.h"

#define BANNER "Linux version "
#define BANNER_LEN (sizeof(BANNER) - 1)
#define SETUP_HDR_END 0x240     /* the bzImage fields read here end below */
#define ARM64_MAGIC_OFF 0x38    /* "ARM\x64" */
#define INFLATE_MAX (512u << 20) /* of a compressed Image searched */

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

const char *kernel_format_name(enum kernel_format f)
{
	static const char *const names[] = {
		[KERNEL_UNKNOWN] = "not a kernel image",
		[KERNEL_BZIMAGE] = "an x86_64 bzImage",
		[KERNEL_BZIMAGE_32] = "a 32-bit x86 bzImage",
		[KERNEL_ARM64_IMAGE] = "an arm64 Image",
		[KERNEL_GZIP] = "a gzip-compressed arm64 Image",
		[KERNEL_ZBOOT] = "an EFI zboot arm64 Image",
		[KERNEL_ELF] = "an ELF vmlinux (not a boot image)",
	};
	return names[f];
}

/* The version string at s (printable ASCII up to NUL or newline), and
 * its first word as the release. */
static void set_version(struct kernel_info *ki, const uint8_t *s, size_t n)
{
	size_t len = 0, rel;

	while (len < n && len < sizeof(ki->version) - 1 && s[len] >= ' ' &&
	       s[len] < 0x7f)
		len++;
	memcpy(ki->version, s, len);
	ki->version[len] = '\0';
	rel = strcspn(ki->version, " ");
	if (rel >= sizeof(ki->release))
		rel = 0; /* not a release string */
	memcpy(ki->release, ki->version, rel);
	ki->release[rel] = '\0';
}

/* Look for the banner in p[0..n); true when found (and set). */
static bool banner_in(struct kernel_info *ki, const uint8_t *p, size_t n)
{
	const uint8_t *b = memmem(p, n, BANNER, BANNER_LEN);

	if (!b)
		return false;
	set_version(ki, b + BANNER_LEN, n - (size_t)(b - p) - BANNER_LEN);
	return true;
}

static int bzimage(int fd, uint64_t base, uint64_t size, const uint8_t *h,
		   const char *name, struct kernel_info *ki, struct ek_error *err)
{
	uint16_t kv = le16(h + 0x20e);
	/* setup_sects (0 means 4) sectors after the boot sector, then
	 * syssize 16-byte paragraphs of protected-mode code */
	uint64_t setup = (uint64_t)(h[0x1f1] ? h[0x1f1] : 4) + 1;
	uint64_t need = setup * 512 + (uint64_t)le32(h + 0x1f4) * 16;
	uint8_t s[256];
	ssize_t n;

	if (size < need)
		return ek_fail(err, EK_EFORMAT, "'%s': a bzImage cut short (its "
			       "header says %llu bytes, the file has %llu)", name,
			       (unsigned long long)need, (unsigned long long)size);

	ki->boot_protocol = le16(h + 0x206);
	/* xloadflags (2.12 and later): XLF_KERNEL_64 */
	ki->format = ki->boot_protocol >= 0x020c && !(h[0x236] & 1)
			     ? KERNEL_BZIMAGE_32 : KERNEL_BZIMAGE;
	if (kv == 0)
		return 0;
	n = io_pread_full(fd, s, sizeof(s), base + kv + 0x200);
	if (n < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", name);
	set_version(ki, s, (size_t)n);
	return 0;
}

/* An uncompressed Image: the banner is somewhere in its rodata. */
static void image_banner(int fd, uint64_t off, uint64_t size,
			 struct kernel_info *ki)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), lead = off % page;
	uint8_t *p;

	if (size > SIZE_MAX - lead)
		return;
	p = mmap(NULL, (size_t)(size + lead), PROT_READ, MAP_PRIVATE, fd,
		 (off_t)(off - lead));
	if (p == MAP_FAILED)
		return; /* the version stays unknown */
	banner_in(ki, p + lead, (size_t)size);
	munmap(p, (size_t)(size + lead));
}

/* Inflate gzip data at [off, off + len) of fd far enough to see the
 * Image's header and its banner. Sets *is_arm64 from the header. */
static int inflate_banner(int fd, uint64_t off, uint64_t len, const char *name,
			  struct kernel_info *ki, bool *is_arm64,
			  struct ek_error *err)
{
	enum { IN = 1 << 16, KEEP = BANNER_LEN + 256, OUT = 1 << 18 };
	uint8_t *in = malloc(IN), *out = malloc(KEEP + OUT);
	uint64_t total = 0;
	size_t keep = 0;
	z_stream z;
	int zr = Z_OK, r = 0;

	memset(&z, 0, sizeof(z));
	if (!in || !out || inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(in);
		free(out);
		return ek_fail(err, EK_ENOMEM, "out of memory");
	}
	*is_arm64 = false;
	while (zr == Z_OK && total < INFLATE_MAX && !ki->version[0]) {
		if (z.avail_in == 0 && len > 0) {
			ssize_t n = io_pread_full(fd, in, len < IN ? len : IN,
						  (off_t)off);

			if (n <= 0) {
				r = n < 0 ? ek_fail_errno(err, EK_EIO, errno,
							 "'%s'", name) : 0;
				break;
			}
			z.next_in = in;
			z.avail_in = (uInt)n;
			off += (uint64_t)n;
			len -= (uint64_t)n;
		}
		z.next_out = out + keep;
		z.avail_out = OUT;
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END)
			break; /* not gzip after all: the version stays unknown */
		size_t got = OUT - z.avail_out;

		if (total == 0 && keep + got >= ARM64_MAGIC_OFF + 4)
			*is_arm64 = !memcmp(out + ARM64_MAGIC_OFF, "ARM\x64", 4);
		total += got;
		if (banner_in(ki, out, keep + got))
			break;
		keep = keep + got < KEEP ? keep + got : KEEP;
		memmove(out, out + (size_t)(z.next_out - out) - keep, keep);
		if (z.avail_in == 0 && len == 0 && zr != Z_STREAM_END && got == 0)
			break;
	}
	inflateEnd(&z);
	free(in);
	free(out);
	return r;
}

int kernel_inspect(int fd, uint64_t off, uint64_t size, const char *name,
		   struct kernel_info *ki, struct ek_error *err)
{
	uint8_t h[SETUP_HDR_END];
	ssize_t n = io_pread_full(fd, h, size < sizeof(h) ? size : sizeof(h),
				  off);
	bool arm64 = false;
	int r = 0;

	memset(ki, 0, sizeof(*ki));
	if (n < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", name);
	if ((size_t)n >= SETUP_HDR_END && !memcmp(h + 0x202, "HdrS", 4) &&
	    le16(h + 0x1fe) == 0xaa55)
		return bzimage(fd, off, size, h, name, ki, err);
	if ((size_t)n >= 64 && !memcmp(h + ARM64_MAGIC_OFF, "ARM\x64", 4)) {
		ki->format = KERNEL_ARM64_IMAGE;
		image_banner(fd, off, size, ki);
		return 0;
	}
	if ((size_t)n >= 0x20 && !memcmp(h, "MZ", 2) && !memcmp(h + 4, "zimg", 4)) {
		uint32_t poff = le32(h + 8), plen = le32(h + 12);

		ki->format = KERNEL_ZBOOT;
		if (!memcmp(h + 0x18, "gzip", 5) && (uint64_t)poff + plen <= size)
			r = inflate_banner(fd, off + poff, plen, name, ki, &arm64,
					   err);
		return r;
	}
	if ((size_t)n >= 2 && h[0] == 0x1f && h[1] == 0x8b) {
		r = inflate_banner(fd, off, size, name, ki, &arm64, err);
		ki->format = arm64 ? KERNEL_GZIP : KERNEL_UNKNOWN;
		if (!arm64)
			ki->version[0] = ki->release[0] = '\0';
		return r;
	}
	if ((size_t)n >= 4 && !memcmp(h, "\x7f" "ELF", 4))
		ki->format = KERNEL_ELF;
	return 0;
}

int kernel_check(const struct kernel_info *ki, bool arm64, const char *name,
		 bool *compressed, struct ek_error *err)
{
	enum kernel_format f = ki->format;
	const char *want = arm64 ? "--arch aarch64 needs an arm64 Image"
				 : "--arch x86_64 needs an x86_64 bzImage";

	*compressed = arm64 && (f == KERNEL_GZIP || f == KERNEL_ZBOOT);
	if (arm64 ? (f == KERNEL_ARM64_IMAGE || *compressed) : f == KERNEL_BZIMAGE)
		return 0;
	if (f == KERNEL_UNKNOWN)
		return ek_fail(err, EK_EFORMAT, "'%s': not a kernel image (%s: %s)",
			       name, want, arm64 ? "no \"ARM\\x64\" magic at "
			       "byte 56" : "no \"HdrS\" setup header at byte "
			       "514");
	return ek_fail(err, EK_EFORMAT, "'%s': %s; %s", name,
		       kernel_format_name(f), want);
}

bool kernel_config_matches(const struct kernel_info *ki, const char *kver)
{
	size_t n = strlen(kver);

	if (!ki->release[0] || !strcmp(kver, ki->release))
		return true;
	for (const char *p = ki->version; n && (p = strstr(p, kver)); p++) {
		char after = p[n];

		if ((p == ki->version || p[-1] == ' ') &&
		    !(after >= '0' && after <= '9') && after != '.')
			return true;
	}
	return false;
}
