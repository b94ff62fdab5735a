/* scan.h: turn folders and single files into tree entries.
 *
 * Reading a folder never follows symlinks, records every file type the
 * cpio format holds (regular files, directories, symlinks with their
 * target verbatim, character and block devices, FIFOs), groups hard links
 * by (device, inode), and normalises owners and mtimes unless asked not
 * to. Sockets are skipped and xattrs (file capabilities included) cannot
 * be stored: both are counted for the caller to report (the xattrs of
 * regular files by the cpio writer, which opens them anyway).
 *
 * Nothing is looked up twice by a path from the root: the root folder is
 * opened once (and held by the tree), every name below it is looked up in
 * its own folder's handle, never through a symlink, and a regular file's
 * content is opened later from the held root (tree_open_beneath) and must
 * be the file the scan saw. A folder renamed and replaced by a symlink
 * during the build cannot lead eifkit outside the tree. */
#ifndef EIFKIT_LIB_SCAN_H
#define EIFKIT_LIB_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "ramdisk/tree.h"

struct scan_inode;
struct stat;

struct scan_opts {
	bool keep_owners;      /* else uid/gid 0 */
	bool keep_mtimes;      /* else mtime = the value below */
	int64_t mtime;
	bool mtime_any;        /* with keep_mtimes: no range check, the
	                          caller normalises the mtimes later */
	/* filled by the scan: */
	unsigned long sockets;      /* skipped */
	unsigned long xattr_files;  /* entries other than regular files
	                               whose xattrs were dropped */
	char xattr_first[3][256];   /* the first few, as paths in the
	                               image ("/usr/bin/ping") */
	char first_socket[256];     /* one example, for the message */
	/* the hard-link group of each (device, inode) seen, so that the
	 * names of one file in two folders are one group too */
	struct scan_inode *inodes;
	size_t ninodes, inodes_alloc;
};

/* Add everything below root (not root itself) to t. root may be a
 * symlink; nothing below it is followed. Regular files with
 * more than one name share a hard-link group (tree.h) with every other
 * name of the same file found by the scans that used o. An mtime outside
 * newc's 0..2^32-1 is refused (with keep_mtimes). */
int scan_dir(struct tree *t, const char *root, struct scan_opts *o,
	     struct ek_error *err);

/* Free what the scans recorded in o (not o itself). */
void scan_opts_release(struct scan_opts *o);

/* Add one file: spec is SRC:DEST[:MODE] (MODE octal). SRC is followed if
 * it is a symlink and must be a regular file. */
int scan_file_spec(struct tree *t, const char *spec, struct scan_opts *o,
		   struct ek_error *err);

/* Point e, a regular file's entry, at the host file path (symlinks
 * followed; st is stat(path), already checked by the caller): the folder
 * it is in is held by t, and e records its name there and its (device,
 * inode), so the content read later is this file whatever is renamed
 * meanwhile. e->src becomes the resolved path (for messages). label
 * starts messages ("--file " or ""). */
int scan_host_file(struct tree *t, struct tree_entry *e, const char *path,
		   const struct stat *st, const char *label,
		   struct ek_error *err);

#endif
