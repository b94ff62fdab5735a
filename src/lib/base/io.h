/* io.h: careful I/O: full reads and writes that retry on EINTR, input
 * files checked and opened with a message that names them, and output
 * files that appear only when complete. */
#ifndef EIFKIT_LIB_IO_H
#define EIFKIT_LIB_IO_H

#include <stdbool.h>
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

enum io_input_flags {
	IO_INPUT_PIPE = 1 << 0, /* a pipe (FIFO) is accepted, read to its end */
};

/* Open an input file for reading: a regular file, or a pipe where flags
 * allow one; a folder, a device, a socket, or a pipe elsewhere is
 * refused (opening never waits for a FIFO's writer). Returns the fd, or
 * a negative ek_code with "'path': reason" in err. If size_ret is not
 * NULL it gets the size of a regular file, UINT64_MAX for a pipe. */
int io_open_input(const char *path, unsigned flags, uint64_t *size_ret,
		  struct ek_error *err);

/* Read a whole small file (at most max bytes; larger is EK_ELIMIT).
 * *buf_ret is malloc'd and NUL-terminated; caller frees. */
/* A temporary file in dir that no other process can reach and that goes
 * away with its last descriptor: O_TMPFILE, or where the filesystem has
 * none, a file created and unlinked at once. Returns the fd (O_RDWR,
 * O_CLOEXEC, mode 0600) or a negative error. */
int io_tmpfile(const char *dir, struct ek_error *err);

int io_read_small_file(const char *path, size_t max, uint8_t **buf_ret,
		       size_t *len_ret, struct ek_error *err);

/* An output file, invisible until complete: created unnamed in the
 * target folder (O_TMPFILE) and linked in by io_outfile_commit, or, where
 * the filesystem has no O_TMPFILE, written as ".NAME.XXXXXX" and renamed.
 * Either way an existing file at the path is replaced atomically, and a
 * failed or interrupted run leaves it untouched. */
struct io_outfile {
	char *path; /* final name */
	char *tmp;  /* the named temporary, or NULL (unnamed) */
	int fd;
};

/* Can path be an output? Its folder exists, and path is absent or a
 * regular file: a folder, a symlink, a device or a pipe there is an error
 * (eifkit never writes through a link or into a device). Commands call
 * this for every output before any work; io_outfile_open calls it too. */
int io_check_output(const char *path, struct ek_error *err);

/* Refuse an output that would destroy or change an input: the same file
 * (device and inode, after following symlinks) as the input file in, or a
 * file inside the input folder in. what names the input ("--kernel").
 * An input that does not exist passes (reading it will fail). */
int io_check_not_input(const char *out, const char *in, const char *what,
		       struct ek_error *err);

/* Do a and b name one directory entry (their folders resolved)? */
bool io_same_path(const char *a, const char *b);

/* Create the output (EK_EIO with a message such as "output folder 'x'
 * does not exist" on failure; out is then empty). */
int io_outfile_open(struct io_outfile *out, const char *path,
		    struct ek_error *err);
/* Give the file its name (replacing what was there) and close it. On
 * failure the output is removed and err names the path. */
int io_outfile_commit(struct io_outfile *out, struct ek_error *err);
/* Close and remove the output; safe to call twice or after commit. */
void io_outfile_abort(struct io_outfile *out);
/* Remove every named temporary output of this process that is still
 * open. Async-signal-safe: for the CLI's signal handlers. */
void io_outfile_cleanup_all(void);

#endif
