/* exec.c: run the app's command, looked up in the PATH of the app's own
 * environment (AWS's init searches a fixed PATH instead; libc's execvpe
 * would search init's). */
#define _GNU_SOURCE 1

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

static const char *env_get(char *const envp[], const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; envp[i]; i++)
		if (!strncmp(envp[i], key, klen) && envp[i][klen] == '=')
			return envp[i] + klen + 1;
	return NULL;
}

/* Try dir/file for each PATH entry ("" means the working directory).
 * Like execvp: a candidate that is missing is skipped, one that cannot be
 * run for lack of permission is remembered, anything else stops. */
static int search(const char *path, char *const argv[], char *const envp[])
{
	static char cand[PATH_MAX];
	const char *file = argv[0], *dir = path, *end;
	size_t flen = strlen(file), dlen;
	int err = ENOENT;

	for (;; dir = end + 1) {
		end = strchr(dir, ':');
		if (!end)
			end = dir + strlen(dir);
		dlen = (size_t)(end - dir);
		if (dlen + 1 + flen + 1 > sizeof(cand)) {
			err = err == EACCES ? err : ENAMETOOLONG;
		} else {
			memcpy(cand, dlen ? dir : ".", dlen ? dlen : 1);
			dlen = dlen ? dlen : 1;
			cand[dlen] = '/';
			memcpy(cand + dlen + 1, file, flen + 1);
			execve(cand, argv, envp);
			if (errno == EACCES)
				err = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR)
				return errno;
		}
		if (!*end)
			return err;
	}
}

void exec_in_path(char *const argv[], char *const envp[],
		  const char **search_ret)
{
	const char *path;

	*search_ret = NULL;
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return;
	}
	path = env_get(envp, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	*search_ret = path;
	errno = search(path, argv, envp);
}
