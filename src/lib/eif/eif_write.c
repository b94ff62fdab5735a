/* eif_write.c: stream sections into an EIF.
 *
 * Section sizes need not be known in advance: each section header is
 * written as a placeholder and patched once its data has been streamed,
 * and the file CRC is assembled at the end from per-section CRCs with
 * crc32_combine. That lets a ramdisk come from a pipe, and lets the
 * signature (whose CBOR size depends on the signature bytes, which depend
 * on PCR0) be appended after PCR0 is known, while every input byte is
 * still read exactly once. */
#include "base/internal.h"

#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>

#include "base/io.h"
#include "eif/eif.h"
#include "eif/sign.h"

struct wstate {
	int fd;
	const char *name;
	struct hashpipe *pipe;
	uint64_t pos;
	struct eif_header hdr;
	uint32_t data_crc[EIF_MAX_SECTIONS];
	uint16_t type[EIF_MAX_SECTIONS];
	unsigned nsec;
};

static int fill_fd(struct eif_source *s, uint64_t done, uint8_t *buf,
		   size_t cap, size_t *got, struct ek_error *err)
{
	ssize_t n;

	if (s->len == EIF_LEN_TO_EOF) {
		n = io_read_full(s->fd, buf, cap);
		if (n > 0 && done + (uint64_t)n > EIF_STREAM_MAX)
			return ek_fail(err, EK_ELIMIT, "'%s': more than %llu "
				       "GiB from a pipe", s->name,
				       (unsigned long long)(EIF_STREAM_MAX >> 30));
	} else {
		size_t want = s->len - done < cap ? (size_t)(s->len - done) : cap;

		n = io_pread_full(s->fd, buf, want, s->off + done);
		if (n >= 0 && (size_t)n < want)
			return ek_fail(err, EK_EIO,
				       "'%s': file shrank while being read",
				       s->name);
	}
	if (n < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", s->name);
	*got = (size_t)n;
	return 0;
}

static int fill(struct eif_source *s, uint64_t done, uint8_t *buf, size_t cap,
		size_t *got, struct ek_error *err)
{
	if (s->read)
		return s->read(s->ctx, buf, cap, got, err);
	if (s->fd >= 0)
		return fill_fd(s, done, buf, cap, got, err);
	*got = s->mem_len - done < cap ? (size_t)(s->mem_len - done) : cap;
	memcpy(buf, s->mem + done, *got);
	return 0;
}

/* A regular file read by length must not have grown meanwhile. */
static int check_not_grown(struct eif_source *s, struct ek_error *err)
{
	uint8_t b;

	if (!s->whole_file || s->len == EIF_LEN_TO_EOF)
		return 0;
	if (io_pread_full(s->fd, &b, 1, s->off + s->len) > 0)
		return ek_fail(err, EK_EIO, "'%s': file grew while being read",
			       s->name);
	return 0;
}

static unsigned hash_flags(uint16_t type, unsigned ramdisk_index)
{
	switch (type) {
	case EIF_SEC_KERNEL:
	case EIF_SEC_CMDLINE:
		return HP_PCR0 | HP_PCR1 | HP_CRC;
	case EIF_SEC_RAMDISK:
		return HP_PCR0 | (ramdisk_index == 0 ? HP_PCR1 : HP_PCR2) | HP_CRC;
	}
	return HP_CRC;
}

static int stream_section(struct wstate *w, const struct eif_wsection *sec,
			  unsigned flags, struct ek_error *err)
{
	struct eif_source src = sec->src;
	uint8_t sh[EIF_SEC_HDR_SIZE];
	uint64_t start = w->pos, done = 0;
	unsigned idx = w->nsec;

	w->pos += EIF_SEC_HDR_SIZE; /* header written once the size is known */
	for (;;) {
		uint8_t *buf = hashpipe_get(w->pipe);
		size_t got = 0;
		int ret = fill(&src, done, buf, HASHPIPE_CHUNK, &got, err);

		if (ret)
			return ret;
		if (got == 0)
			break;
		hashpipe_submit(w->pipe, got, flags, idx);
		if (io_pwrite_full(w->fd, buf, got, w->pos) < 0)
			return ek_fail_errno(err, EK_EIO, errno, "'%s'",
					     w->name);
		w->pos += got;
		done += got;
	}
	if (check_not_grown(&src, err))
		return err->code;
	eif_sec_hdr_encode(sec->type, done, sh);
	if (io_pwrite_full(w->fd, sh, sizeof(sh), start) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", w->name);
	w->hdr.section_offsets[idx] = start;
	w->hdr.section_sizes[idx] = done;
	w->type[idx] = sec->type;
	w->nsec++;
	return 0;
}

static int append_signature(struct wstate *w, const struct ek_signer *signer,
			    const uint8_t pcr0[PCR_LEN], struct ek_error *err)
{
	uint8_t sh[EIF_SEC_HDR_SIZE], *sec = NULL;
	size_t len;
	int ret = signer_make_section(signer, pcr0, &sec, &len, err);

	if (ret)
		return ret;
	eif_sec_hdr_encode(EIF_SEC_SIGNATURE, len, sh);
	if (io_pwrite_full(w->fd, sh, sizeof(sh), w->pos) < 0 ||
	    io_pwrite_full(w->fd, sec, len, w->pos + sizeof(sh)) < 0)
		ret = ek_fail_errno(err, EK_EIO, errno, "'%s'", w->name);
	w->hdr.section_offsets[w->nsec] = w->pos;
	w->hdr.section_sizes[w->nsec] = len;
	w->type[w->nsec] = EIF_SEC_SIGNATURE;
	w->data_crc[w->nsec] = libdeflate_crc32(0, sec, len);
	w->nsec++;
	w->pos += sizeof(sh) + len;
	free(sec);
	return ret;
}

/* CRC over header[0..544), then each section header and data, in order. */
static uint32_t file_crc(const struct wstate *w, const uint8_t *hdr)
{
	uLong crc = crc32_z(0, hdr, EIF_CRC_OFFSET);

	for (unsigned i = 0; i < w->nsec; i++) {
		uint8_t sh[EIF_SEC_HDR_SIZE];

		eif_sec_hdr_encode(w->type[i], w->hdr.section_sizes[i], sh);
		crc = crc32_z(crc, sh, sizeof(sh));
		crc = crc32_combine64(crc, w->data_crc[i],
				      (z_off64_t)w->hdr.section_sizes[i]);
	}
	return (uint32_t)crc;
}

static int finish_header(struct wstate *w, uint16_t flags,
			 struct ek_error *err)
{
	uint8_t hdr[EIF_HDR_SIZE];

	memcpy(w->hdr.magic, EIF_MAGIC, 4);
	w->hdr.version = EIF_VERSION;
	w->hdr.flags = flags;
	w->hdr.default_mem = EIF_DEFAULT_MEM;
	w->hdr.default_cpus = EIF_DEFAULT_CPUS;
	w->hdr.num_sections = (uint16_t)w->nsec;
	eif_header_encode(&w->hdr, hdr);
	w->hdr.crc32 = file_crc(w, hdr);
	eif_header_encode(&w->hdr, hdr);
	if (io_pwrite_full(w->fd, hdr, sizeof(hdr), 0) < 0)
		return ek_fail_errno(err, EK_EIO, errno, "'%s'", w->name);
	return 0;
}

static int stream_all(struct wstate *w, const struct eif_wsection *secs,
		      unsigned n, struct hashpipe_result *hr,
		      struct ek_error *err)
{
	unsigned ramdisks = 0;
	int ret = hashpipe_new(HP_CRC, &w->pipe, err);

	for (unsigned i = 0; ret == 0 && i < n; i++) {
		ret = stream_section(w, &secs[i],
				     hash_flags(secs[i].type, ramdisks), err);
		if (secs[i].type == EIF_SEC_RAMDISK)
			ramdisks++;
	}
	if (ret) {
		hashpipe_abort(w->pipe);
		return ret;
	}
	hashpipe_finish(w->pipe, hr);
	for (unsigned i = 0; i < n; i++)
		w->data_crc[i] = hr->crc[i];
	return 0;
}

int eif_write(int fd, const char *name, const struct eif_wsection *secs,
	      unsigned n,
	      const struct eif_write_opts *opts, struct eif_write_result *res,
	      struct ek_error *err)
{
	struct wstate w;
	struct hashpipe_result hr;
	unsigned total = n + (opts->signer ? 1 : 0);
	int ret;

	if (total > EIF_MAX_SECTIONS)
		return ek_fail(err, EK_ELIMIT,
			       "%u sections: an EIF holds at most %d (kernel, "
			       "cmdline, metadata, signature and ramdisks)",
			       total, EIF_MAX_SECTIONS);
	memset(&w, 0, sizeof(w));
	memset(res, 0, sizeof(*res));
	w.fd = fd;
	w.name = name;
	w.pos = EIF_HDR_SIZE;
	ret = stream_all(&w, secs, n, &hr, err);
	if (ret == 0 && opts->signer)
		ret = append_signature(&w, opts->signer, hr.pcr[0], err);
	if (ret == 0)
		ret = finish_header(&w, opts->flags, err);
	if (ret)
		return ret;
	memcpy(res->pcr, hr.pcr, sizeof(res->pcr));
	if (opts->signer) {
		res->is_signed = true;
		signer_pcr8(opts->signer, res->pcr8);
	}
	res->file_size = w.pos;
	return 0;
}
