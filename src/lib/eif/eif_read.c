/* eif_read.c: open an EIF that may have been crafted, check its layout,
 * then stream it once for the CRC and the PCRs. */
#include "base/internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/io.h"
#include "eif/eif.h"

#define FAIL(...) ek_fail(err, EK_EFORMAT, __VA_ARGS__)

static int check_header(const struct eif_image *img, struct ek_error *err)
{
	const struct eif_header *h = &img->hdr;
	const char *n = img->name;

	if (memcmp(h->magic, EIF_MAGIC, 4) != 0)
		return FAIL("'%s': not an EIF file (bad magic)", n);
	if (h->version < 2 || h->version > 4)
		return FAIL("'%s': EIF version %u is not supported (2 to 4)", n,
			    h->version);
	if (h->flags & ~EIF_FLAG_ARM64)
		return FAIL("'%s': unknown header flags 0x%04x", n, h->flags);
	if (h->num_sections == 0 || h->num_sections > EIF_MAX_SECTIONS)
		return FAIL("'%s': %u sections (1 to %d allowed)", n,
			    h->num_sections, EIF_MAX_SECTIONS);
	return 0;
}

/* Offsets must describe contiguous sections from byte 548 to the end. */
static int check_table(struct eif_image *img, struct ek_error *err)
{
	const struct eif_header *h = &img->hdr;
	const char *n = img->name;
	uint64_t pos = EIF_HDR_SIZE;

	for (unsigned i = 0; i < EIF_MAX_SECTIONS; i++) {
		uint64_t off = h->section_offsets[i], size = h->section_sizes[i];

		if (i >= h->num_sections) {
			if (off || size)
				return FAIL("'%s': unused section table entry %u "
					    "is not zero", n, i);
			continue;
		}
		if (off != pos)
			return FAIL("'%s': section %u at offset %llu, expected "
				    "%llu (sections must be contiguous)", n, i,
				    (unsigned long long)off,
				    (unsigned long long)pos);
		if (size > img->file_size || pos > img->file_size ||
		    img->file_size - pos < EIF_SEC_HDR_SIZE ||
		    img->file_size - pos - EIF_SEC_HDR_SIZE < size)
			return FAIL("'%s': section %u (%llu bytes at %llu) runs "
				    "past the end of the file (%llu bytes)", n, i,
				    (unsigned long long)size,
				    (unsigned long long)off,
				    (unsigned long long)img->file_size);
		img->sec[i].offset = off;
		img->sec[i].size = size;
		pos += EIF_SEC_HDR_SIZE + size;
	}
	if (pos != img->file_size)
		return FAIL("'%s': %llu trailing bytes after the last section", n,
			    (unsigned long long)(img->file_size - pos));
	img->nsec = h->num_sections;
	return 0;
}

static int count_section(struct eif_image *img, unsigned i,
			 struct ek_error *err)
{
	uint16_t t = img->sec[i].type;
	int *slot = NULL;
	const char *n = img->name;

	switch (t) {
	case EIF_SEC_KERNEL: slot = &img->kernel; break;
	case EIF_SEC_CMDLINE: slot = &img->cmdline; break;
	case EIF_SEC_METADATA: slot = &img->metadata; break;
	case EIF_SEC_SIGNATURE: slot = &img->signature; break;
	case EIF_SEC_RAMDISK:
		if (img->kernel < 0)
			return FAIL("'%s': ramdisk section %u comes before the "
				    "kernel", n, i);
		img->nramdisks++;
		return 0;
	}
	if (*slot >= 0)
		return FAIL("'%s': a second %s section (%u)", n,
			    eif_section_name(t), i);
	*slot = (int)i;
	return 0;
}

static int check_sections(struct eif_image *img, struct ek_error *err)
{
	const char *n = img->name;

	for (unsigned i = 0; i < img->nsec; i++) {
		uint8_t sh[EIF_SEC_HDR_SIZE];
		uint64_t size;
		uint16_t type, flags;
		int ret;

		if (io_pread_full(img->fd, sh, sizeof(sh), img->sec[i].offset) !=
		    (ssize_t)sizeof(sh))
			return ek_fail_errno(err, EK_EIO, errno ? errno : EIO,
					     "'%s'", n);
		type = (uint16_t)(sh[0] << 8 | sh[1]);
		flags = (uint16_t)(sh[2] << 8 | sh[3]);
		size = 0;
		for (int k = 4; k < 12; k++)
			size = size << 8 | sh[k];
		if (type < EIF_SEC_KERNEL || type > EIF_SEC_METADATA)
			return FAIL("'%s': section %u has invalid type %u", n, i,
				    type);
		if (flags)
			return FAIL("'%s': section %u has flags 0x%04x (must be 0)",
				    n, i, flags);
		if (size != img->sec[i].size)
			return FAIL("'%s': section %u header says %llu bytes, the "
				    "table %llu", n, i, (unsigned long long)size,
				    (unsigned long long)img->sec[i].size);
		img->sec[i].type = type;
		ret = count_section(img, i, err);
		if (ret)
			return ret;
	}
	return 0;
}

static int check_counts(const struct eif_image *img, struct ek_error *err)
{
	const char *n = img->name;

	if (img->kernel < 0)
		return FAIL("'%s': no kernel section", n);
	if (img->cmdline < 0)
		return FAIL("'%s': no cmdline section", n);
	if (img->nramdisks == 0)
		return FAIL("'%s': no ramdisk section", n);
	if (img->hdr.version >= 4 && img->metadata < 0)
		return FAIL("'%s': no metadata section (required in version 4)",
			    n);
	if (img->signature >= 0 &&
	    img->sec[img->signature].size > EIF_SIGNATURE_MAX)
		return FAIL("'%s': signature section of %llu bytes (at most %d)",
			    n, (unsigned long long)img->sec[img->signature].size,
			    EIF_SIGNATURE_MAX);
	if (img->metadata >= 0 &&
	    img->sec[img->metadata].size > EIF_METADATA_MAX)
		return FAIL("'%s': metadata section of %llu bytes (at most %u)", n,
			    (unsigned long long)img->sec[img->metadata].size,
			    EIF_METADATA_MAX);
	return 0;
}

static int load_copy(struct eif_image *img, int idx, uint8_t **buf_ret,
		     size_t *len_ret, struct ek_error *err)
{
	size_t len = (size_t)img->sec[idx].size;
	uint8_t *buf = malloc(len + 1);

	if (!buf)
		return ek_fail(err, EK_ENOMEM, "out of memory");
	if (io_pread_full(img->fd, buf, len,
			  img->sec[idx].offset + EIF_SEC_HDR_SIZE) != (ssize_t)len) {
		free(buf);
		return ek_fail(err, EK_EIO, "'%s': short read", img->name);
	}
	buf[len] = '\0';
	*buf_ret = buf;
	*len_ret = len;
	return 0;
}

static unsigned hash_flags(uint16_t type, unsigned ramdisk_index)
{
	if (type == EIF_SEC_KERNEL || type == EIF_SEC_CMDLINE)
		return HP_PCR0 | HP_PCR1 | HP_CRC;
	if (type == EIF_SEC_RAMDISK)
		return HP_PCR0 | (ramdisk_index ? HP_PCR2 : HP_PCR1) | HP_CRC;
	return HP_CRC;
}

static int stream_section(struct eif_image *img, struct hashpipe *p,
			  unsigned i, unsigned flags, struct ek_error *err)
{
	uint64_t off = img->sec[i].offset + EIF_SEC_HDR_SIZE;
	uint64_t left = img->sec[i].size;

	while (left > 0) {
		uint8_t *buf = hashpipe_get(p);
		size_t want = left < HASHPIPE_CHUNK ? (size_t)left : HASHPIPE_CHUNK;

		if (io_pread_full(img->fd, buf, want, off) != (ssize_t)want)
			return ek_fail(err, EK_EIO, "'%s': short read (file "
				       "changed while being read?)", img->name);
		hashpipe_submit(p, want, flags, i);
		off += want;
		left -= want;
	}
	return 0;
}

static int hash_all(struct eif_image *img, const uint8_t *hdr,
		    struct ek_error *err)
{
	struct hashpipe *p;
	struct hashpipe_result r;
	unsigned ramdisks = 0;
	uLong crc;
	int ret = hashpipe_new(HP_PCR0 | HP_CRC, &p, err);

	for (unsigned i = 0; ret == 0 && i < img->nsec; i++) {
		ret = stream_section(img, p, i,
				     hash_flags(img->sec[i].type, ramdisks), err);
		if (img->sec[i].type == EIF_SEC_RAMDISK)
			ramdisks++;
	}
	if (ret) {
		hashpipe_abort(p);
		return ret;
	}
	hashpipe_finish(p, &r);
	crc = crc32_z(0, hdr, EIF_CRC_OFFSET);
	for (unsigned i = 0; i < img->nsec; i++) {
		uint8_t sh[EIF_SEC_HDR_SIZE];

		eif_sec_hdr_encode(img->sec[i].type, img->sec[i].size, sh);
		crc = crc32_z(crc, sh, sizeof(sh));
		crc = crc32_combine64(crc, r.crc[i], (z_off64_t)img->sec[i].size);
	}
	img->crc_computed = (uint32_t)crc;
	img->crc_ok = img->crc_computed == img->hdr.crc32;
	memcpy(img->pcr, r.pcr, sizeof(img->pcr));
	return 0;
}

int eif_read_fd(int fd, const char *name, struct eif_image *img,
		unsigned flags, struct ek_error *err)
{
	uint8_t hdr[EIF_HDR_SIZE];
	struct stat st;
	ssize_t n;
	int ret;

	memset(img, 0, sizeof(*img));
	img->fd = fd;
	img->name = name;
	img->kernel = img->cmdline = img->metadata = img->signature = -1;
	if (fstat(fd, &st) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", name);
	if (!S_ISREG(st.st_mode))
		return ek_fail(err, EK_EIO, "'%s': not a regular file", name);
	img->file_size = (uint64_t)st.st_size;
	n = io_pread_full(fd, hdr, sizeof(hdr), 0);
	if (n < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", name);
	if ((size_t)n < sizeof(hdr))
		return FAIL("'%s': truncated: %zd bytes (an EIF header alone is "
			    "%d)", name, n, EIF_HDR_SIZE);
	eif_header_decode(hdr, &img->hdr);
	if ((ret = check_header(img, err)) || (ret = check_table(img, err)) ||
	    (ret = check_sections(img, err)) || (ret = check_counts(img, err)))
		return ret;
	if (img->metadata >= 0 &&
	    (ret = load_copy(img, img->metadata, &img->metadata_buf,
			     &img->metadata_len, err)))
		return ret;
	if (img->signature >= 0 &&
	    (ret = load_copy(img, img->signature, &img->signature_buf,
			     &img->signature_len, err)))
		return ret;
	if (flags & EIF_READ_NOHASH)
		return 0;
	return hash_all(img, hdr, err);
}

int eif_open(const char *path, struct eif_image *img, unsigned flags,
	     struct ek_error *err)
{
	int fd = io_open_input(path, 0, NULL, err);
	int ret;

	if (fd < 0) {
		memset(img, 0, sizeof(*img));
		img->fd = -1;
		return fd;
	}
	ret = eif_read_fd(fd, path, img, flags, err);
	img->own_fd = true;
	if (ret)
		eif_image_release(img);
	return ret;
}

void eif_image_release(struct eif_image *img)
{
	free(img->metadata_buf);
	free(img->signature_buf);
	img->metadata_buf = img->signature_buf = NULL;
	if (img->own_fd && img->fd >= 0)
		close(img->fd);
	img->fd = -1;
	img->own_fd = false;
}
