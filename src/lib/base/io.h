/* io.h: careful I/O: full reads and writes that retry on EINTR, input
 * files opened with a message that names them, and atomic output files
 * (written under a temporary name in the target folder, renamed into
 * place only when complete, removed on failure or on SIGINT/SIGTERM). */
#ifndef EIFKIT_LIB_IO_H
#define EIFKIT_LIB_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

/* Read up to len bytes; fewer only at end of file. Returns the count or -1
 * (errno set). */
ssize_t io_read_full(int fd, void *buf, size_t len);
ssize_t io_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* Write all len bytes or return -1 (errno set). */
int io_write_full(int fd, const void *buf, size_t len);
int io_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/* Open an input file for reading. Directories are refused. Returns the
 * fd, or a negative ek_code with "'path': reason" in err. If size_ret is
 * not NULL it gets the size for regular files and UINT64_MAX otherwise
 * (pipes, character devices: read to end of file). */
int io_open_input(const char *path, uint64_t *size_ret, struct ek_error *err);

/* Read a whole small file (at most max bytes; larger is EK_ELIMIT).
 * *buf_ret is malloc'd and NUL-terminated; caller frees. */
int io_read_small_file(const char *path, size_t max, uint8_t **buf_ret,
		       size_t *len_ret, struct ek_error *err);

struct io_outfile {
	char *path; /* final name */
	char *tmp;  /* temporary name in the same folder */
	int fd;
};

/* Create a temporary file beside path. EK_EIO with a message such as
 * "output folder 'x' does not exist" on failure. */
int io_outfile_open(struct io_outfile *out, const char *path,
		    struct ek_error *err);
/* Close and rename into place. On failure the temporary file is removed. */
int io_outfile_commit(struct io_outfile *out, struct ek_error *err);
/* Close and remove the temporary file; safe to call twice or after commit. */
void io_outfile_abort(struct io_outfile *out);

#endif
