/* libFuzzer target: the EIF reader, the metadata parser and the signature
 * section parser on arbitrary bytes. Each input goes through a memfd so
 * the reader runs exactly as on a file. */
#define _GNU_SOURCE 1
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/io.h"
#include "eif/eif.h"
#include "eif/metadata.h"
#include "eif/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eif_image img;
	struct eif_metadata meta;
	struct sig_info sig;
	struct ek_error err;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || io_write_full(fd, data, size) < 0)
		return 0;
	if (eif_read_fd(fd, "fuzz", &img, 0, &err) == 0) {
		if (img.metadata_buf &&
		    metadata_parse(img.metadata_buf, img.metadata_len, &meta,
				   &err) == 0)
			metadata_release(&meta);
		if (img.signature_buf &&
		    sign_parse_section(img.signature_buf, img.signature_len,
				       &sig, &err) == 0)
			sig_info_release(&sig);
	}
	eif_image_release(&img);
	close(fd);
	return 0;
}
