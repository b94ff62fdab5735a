/* main.c: the command table; the only place that exits. */
#include "base/internal.h"

#include <signal.h>
#include <stdio.h>

#include "base/io.h"
#include "cli.h"

/*
 * Every signal whose default action ends the process, so that a run
 * ended by one leaves no temporary output (io_outfile_cleanup_all) and no
 * child behind (cli_at_signal). A signal ignored when eifkit starts (nohup
 * ignores SIGHUP) stays ignored. SIGKILL cannot be caught: outputs are
 * unnamed until complete, so there is nothing to clean up after it
 * either, except on filesystems without O_TMPFILE.
 */
static const int fatal_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2,
	SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGPOLL, SIGSYS,
};
static void (*volatile at_signal[4])(void);

void cli_at_signal(void (*fn)(void))
{
	for (size_t i = 0; i < ARRAY_SIZE(at_signal); i++)
		if (!at_signal[i] || at_signal[i] == fn) {
			at_signal[i] = fn;
			return;
		}
}

static void on_signal(int sig)
{
	io_outfile_cleanup_all();
	for (size_t i = 0; i < ARRAY_SIZE(at_signal); i++)
		if (at_signal[i])
			at_signal[i]();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signal_handlers(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask); /* one handler at a time */
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		if (sigaction(fatal_signals[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			sigaction(fatal_signals[i], &sa, NULL);
}

static const struct cmd commands[] = {
	{ "build", cmd_build, "root filesystem folders + kernel + init -> EIF" },
	{ "ramdisk", cmd_ramdisk, "write one deterministic cpio ramdisk" },
	{ "assemble", cmd_assemble, "kernel + cmdline + ramdisks -> EIF (like eif_build)" },
	{ "describe", cmd_describe, "print what an EIF holds, as nitro-cli describe-eif" },
	{ "ls", cmd_ls, "list the entries of an EIF's ramdisks or a cpio archive" },
	{ "run", cmd_run, "boot an EIF under QEMU; exit with the app's status" },
	{ "pcr", cmd_pcr, "measurements of an EIF, a certificate or any file" },
	{ "sign", cmd_sign, "add or replace the signature of an EIF" },
	{ "verify", cmd_verify, "check layout, CRC, signature and expected PCRs" },
	{ "attest", cmd_attest, "verify an enclave's attestation document against an image" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: eifkit <command> [options]\n\n"
		   "Build and inspect AWS Nitro Enclave image files (EIF).\n\n"
		   "commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'eifkit <command> --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	int ret;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("eifkit %s\n", EIFKIT_VERSION);
		return 0;
	}
	install_signal_handlers();
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		ret = commands[i].fn(argc - 1, argv + 1);
		/* a command that failed has said why already */
		if ((fflush(stdout) != 0 || ferror(stdout)) && ret == 0) {
			fprintf(stderr, "eifkit %s: cannot write to stdout\n",
				commands[i].name);
			return 1;
		}
		return ret;
	}
	fprintf(stderr, "eifkit: '%s' is not a command\n", argv[1]);
	usage(stderr);
	return 2;
}
