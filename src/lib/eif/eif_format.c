#include "base/internal.h"

#include "eif/eif.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

/* Field offsets: EIF-FORMAT.md section 2. */
void eif_header_encode(const struct eif_header *h, uint8_t out[EIF_HDR_SIZE])
{
	memcpy(out, h->magic, 4);                 /* magic */
	put16(out + 4, h->version);               /* version */
	put16(out + 6, h->flags);                 /* flags (arch) */
	put64(out + 8, h->default_mem);           /* default_mem */
	put64(out + 16, h->default_cpus);         /* default_cpus */
	put16(out + 24, h->reserved);             /* reserved */
	put16(out + 26, h->num_sections);         /* num_sections */
	for (int i = 0; i < EIF_MAX_SECTIONS; i++) {
		put64(out + 28 + 8 * i, h->section_offsets[i]);
		put64(out + 284 + 8 * i, h->section_sizes[i]);
	}
	put32(out + 540, h->unused);              /* unused */
	put32(out + EIF_CRC_OFFSET, h->crc32);    /* eif_crc32 */
}

void eif_header_decode(const uint8_t in[EIF_HDR_SIZE], struct eif_header *h)
{
	memcpy(h->magic, in, 4);
	h->version = get16(in + 4);
	h->flags = get16(in + 6);
	h->default_mem = get64(in + 8);
	h->default_cpus = get64(in + 16);
	h->reserved = get16(in + 24);
	h->num_sections = get16(in + 26);
	for (int i = 0; i < EIF_MAX_SECTIONS; i++) {
		h->section_offsets[i] = get64(in + 28 + 8 * i);
		h->section_sizes[i] = get64(in + 284 + 8 * i);
	}
	h->unused = get32(in + 540);
	h->crc32 = get32(in + EIF_CRC_OFFSET);
}

/* Section 3: type, flags (always 0), size. */
void eif_sec_hdr_encode(uint16_t type, uint64_t size,
			uint8_t out[EIF_SEC_HDR_SIZE])
{
	put16(out, type);
	put16(out + 2, 0);
	put64(out + 4, size);
}

const char *eif_section_name(uint16_t type)
{
	switch (type) {
	case EIF_SEC_KERNEL: return "kernel";
	case EIF_SEC_CMDLINE: return "cmdline";
	case EIF_SEC_RAMDISK: return "ramdisk";
	case EIF_SEC_SIGNATURE: return "signature";
	case EIF_SEC_METADATA: return "metadata";
	}
	return "invalid";
}

void eif_source_mem(struct eif_source *s, const char *name, const void *p,
		    size_t len)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->mem = p;
	s->mem_len = len;
	s->fd = -1;
}

void eif_source_fd(struct eif_source *s, const char *name, int fd,
		   uint64_t off, uint64_t len)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->fd = fd;
	s->off = off;
	s->len = len;
}

void eif_source_file(struct eif_source *s, const char *name, int fd,
		     uint64_t size)
{
	eif_source_fd(s, name, fd, 0, size);
	s->whole_file = 1;
}
