/*
 * ctflow: conntrack and pcap flows to IPFIX. Dispatches subcommands.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"Usage: ctflow COMMAND [OPTION...]\n"
		"\n"
		"Commands:\n"
		"  run               export the kernel's conntrack flows live\n"
		"  convert FILE...   convert pcap/pcapng captures to IPFIX flow records\n"
		"  check             validate the configuration and the kernel settings\n"
		"  health [ADDR:PORT]\n"
		"                    ask a running 'ctflow run' whether it is healthy\n"
		"\n"
		"  ctflow COMMAND --help   options of a command\n"
		"  ctflow --version        print the version\n"
		"\n"
		"Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	if (argc < 2) {
		usage(stderr);
		return CTF_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CTF_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("ctflow %s\n", CTFLOW_VERSION);
		return CTF_EXIT_OK;
	}
	if (strcmp(argv[1], "run") == 0)
		return ctf_cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return ctf_cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "health") == 0)
		return ctf_cmd_health(argc - 1, argv + 1);
	if (strcmp(argv[1], "convert") == 0)
		return ctf_cmd_convert(argc - 1, argv + 1);
	fprintf(stderr, "ctflow: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CTF_EXIT_USAGE;
}
