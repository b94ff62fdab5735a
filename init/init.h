/* init.h: what the enclave init's files share. The init is its own
 * program: static, libc only, no code or headers from the library.
 * Behaviour: docs/eifkit-run.md ("The init") and AWS-BUILD-AND-INIT.md
 * section 2, whose contract it keeps. */
#ifndef EIFKIT_INIT_H
#define EIFKIT_INIT_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The app's environment when /env is empty, and where a command is looked
 * up when the environment has no PATH (AWS's fixed PATH). */
#define DEFAULT_PATH "/sbin:/usr/sbin:/bin:/usr/bin"

/* ---- msg.c: console messages, all "eifkit-init: ..." on stderr ---- */

/* "EPERM", "ENOENT", ... or NULL for a number without a name here. */
const char *errno_name(int err);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "eifkit-init: <what>: ENAME (strerror)" */
void warn_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print, then power off: the end of a fatal error. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die_errno(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Wait (at most a second) for the console to send what it holds. */
void drain_console(void);
/* reboot(how) after draining the console; says why if that fails. */
_Noreturn void shut_down(int how);

/* ---- config.c: /cmd, /env and /workdir ---- */

#define CONFIG_MAX (1u << 20) /* our cap on each of /cmd, /env, /workdir */

struct config {
	char **argv;    /* NULL-terminated, from /cmd */
	char **envp;    /* NULL-terminated, from /env (or PATH=DEFAULT_PATH) */
	char *workdir;  /* from /workdir, or NULL for "/" */
};

/* Read /cmd, /env and the optional /workdir, then remove them. A missing
 * or empty /cmd or a missing /env is fatal, with a message. */
void config_load(struct config *c);

/* ---- mounts.c ---- */

/* devtmpfs on /dev; already mounted (EBUSY) is fine. */
void mount_devtmpfs(void);
/* Make dir the root: bind it, move it onto /, chroot (AWS's switch). */
void switch_root(const char *dir);
/* proc, the /dev links, /run, /tmp, /dev/shm, devpts, sysfs, the cgroup
 * tmpfs and one cgroup v1 hierarchy per enabled controller. */
void mount_all(void);
/* Mount proc on /proc of the initial ramdisk, read the kernel command
 * line into buf (NUL-terminated), unmount it again. */
void read_kernel_cmdline(char *buf, size_t cap);

/* ---- exec.c ---- */

/* execve argv[0], looked up in envp's PATH (DEFAULT_PATH without one)
 * when it holds no '/'. Returns only on failure, errno set; *search_ret
 * is the PATH that was searched, or NULL when there was no search. */
void exec_in_path(char *const argv[], char *const envp[],
		  const char **search_ret);

#endif
