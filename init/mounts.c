/* mounts.c: the switch to /rootfs and the filesystems the app finds
 * mounted, with AWS's flags (AWS-BUILD-AND-INIT.md 2.2 steps 2, 10-13). */
#define _GNU_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

#define NODEV_NOSUID_NOEXEC (MS_NODEV | MS_NOSUID | MS_NOEXEC)
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUPS_MAX 16384     /* /proc/cgroups is a few hundred bytes */
#define CGROUP_NAME_MAX 64    /* the kernel's names are at most 32 */

enum op_kind { OP_MOUNT, OP_SYMLINK, OP_MKDIR };

struct fs_op {
	enum op_kind kind;
	const char *src;     /* mount source, or symlink target */
	const char *path;
	const char *type;
	unsigned long flags;
	const char *data;
};

/* In this order, as AWS's init does them. */
static const struct fs_op fs_table[] = {
	{ OP_MOUNT, "proc", "/proc", "proc", NODEV_NOSUID_NOEXEC, NULL },
	{ OP_SYMLINK, "/proc/self/fd", "/dev/fd", NULL, 0, NULL },
	{ OP_SYMLINK, "/proc/self/fd/0", "/dev/stdin", NULL, 0, NULL },
	{ OP_SYMLINK, "/proc/self/fd/1", "/dev/stdout", NULL, 0, NULL },
	{ OP_SYMLINK, "/proc/self/fd/2", "/dev/stderr", NULL, 0, NULL },
	{ OP_MOUNT, "tmpfs", "/run", "tmpfs", NODEV_NOSUID_NOEXEC, "mode=0755" },
	{ OP_MOUNT, "tmpfs", "/tmp", "tmpfs", NODEV_NOSUID_NOEXEC, NULL },
	{ OP_MKDIR, NULL, "/dev/shm", NULL, 0755, NULL },
	{ OP_MOUNT, "shm", "/dev/shm", "tmpfs", NODEV_NOSUID_NOEXEC, NULL },
	{ OP_MKDIR, NULL, "/dev/pts", NULL, 0755, NULL },
	{ OP_MOUNT, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL },
	{ OP_MOUNT, "sysfs", "/sys", "sysfs", NODEV_NOSUID_NOEXEC, NULL },
	{ OP_MOUNT, "cgroup_root", CGROUP_ROOT, "tmpfs", NODEV_NOSUID_NOEXEC,
	  "mode=0755" },
};

static void do_mount(const char *src, const char *path, const char *type,
		     unsigned long flags, const char *data)
{
	if (mount(src, path, type, flags, data) < 0)
		die_errno(errno, "mount %s on %s", type, path);
}

void mount_devtmpfs(void)
{
	if (mount("dev", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL) < 0 &&
	    errno != EBUSY)
		die_errno(errno, "mount devtmpfs on /dev");
}

void switch_root(const char *dir)
{
	if (mount(dir, dir, NULL, MS_BIND, NULL) < 0)
		die_errno(errno, "mount --bind %s %s", dir, dir);
	if (chdir(dir) < 0)
		die_errno(errno, "chdir %s", dir);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		die_errno(errno, "mount --move %s /", dir);
	if (chroot(".") < 0)
		die_errno(errno, "chroot %s", dir);
	if (chdir("/") < 0)
		die_errno(errno, "chdir /");
}

static void apply(const struct fs_op *op)
{
	switch (op->kind) {
	case OP_MOUNT:
		do_mount(op->src, op->path, op->type, op->flags, op->data);
		break;
	case OP_SYMLINK:
		if (symlink(op->src, op->path) < 0 && errno != EEXIST)
			die_errno(errno, "symlink %s -> %s", op->path, op->src);
		break;
	case OP_MKDIR:
		if (mkdir(op->path, (mode_t)op->flags) < 0 && errno != EEXIST)
			die_errno(errno, "mkdir %s", op->path);
		break;
	}
}

/* Read a small proc file whole into buf (NUL-terminated). */
static void read_proc(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die_errno(errno, "open %s", path);
	for (;;) {
		if (len == cap - 1)
			die("%s is longer than init's cap of %zu bytes", path,
			    cap - 1);
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die_errno(errno, "read %s", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (close(fd) < 0)
		die_errno(errno, "close %s", path);
}

/* Field i (0-based) of a whitespace-separated line, as [*start, len). */
static size_t field(const char *line, int i, const char **start)
{
	const char *p = line;
	size_t len = 0;

	for (int k = 0; k <= i; k++) {
		p += len;
		p += strspn(p, " \t");
		len = strcspn(p, " \t\n");
	}
	*start = p;
	return len;
}

/* One line of /proc/cgroups: "name hierarchy num_cgroups enabled". */
static void mount_cgroup_line(const char *line)
{
	char name[CGROUP_NAME_MAX], path[sizeof(CGROUP_ROOT) + CGROUP_NAME_MAX];
	const char *p, *en;
	size_t len = field(line, 0, &p), en_len = field(line, 3, &en);

	if (len == 0 || en_len == 0)
		die("/proc/cgroups: a line without four fields: %.60s", line);
	if (len >= sizeof(name))
		die("/proc/cgroups: controller name longer than %d bytes",
		    CGROUP_NAME_MAX - 1);
	if (en_len == 1 && en[0] == '0')
		return;
	memcpy(name, p, len);
	name[len] = '\0';
	memcpy(path, CGROUP_ROOT "/", sizeof(CGROUP_ROOT));
	memcpy(path + sizeof(CGROUP_ROOT), name, len + 1);
	if (mkdir(path, 0755) < 0)
		die_errno(errno, "mkdir %s", path);
	do_mount(name, path, "cgroup", NODEV_NOSUID_NOEXEC, name);
}

/* A cgroup v1 hierarchy per enabled controller, as AWS's init mounts. */
static void mount_cgroups(void)
{
	static char buf[CGROUPS_MAX];
	char *line, *nl;

	read_proc("/proc/cgroups", buf, sizeof(buf));
	for (line = buf; *line; line = nl ? nl + 1 : line + strlen(line)) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line && *line != '#')
			mount_cgroup_line(line);
	}
}

void mount_all(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(fs_table); i++)
		apply(&fs_table[i]);
	mount_cgroups();
}

void read_kernel_cmdline(char *buf, size_t cap)
{
	int made = 1;

	if (mkdir("/proc", 0555) < 0) {
		if (errno != EEXIST)
			die_errno(errno, "mkdir /proc");
		made = 0;
	}
	do_mount("proc", "/proc", "proc", NODEV_NOSUID_NOEXEC, NULL);
	read_proc("/proc/cmdline", buf, cap);
	if (umount("/proc") < 0)
		die_errno(errno, "umount /proc");
	if (made && rmdir("/proc") < 0)
		die_errno(errno, "rmdir /proc");
}
