/* xentui: arguments, configuration, start. */
#include <stdio.h>
#include <string.h>

#define XENTUI_VERSION "0.1.0"

static void usage(FILE *f)
{
	fputs("usage: xentui [options] [URL | SERVER-NAME]\n"
	      "       xentui list hosts|vms|srs|networks|tasks [--json] [connection options]\n"
	      "  --demo                start xapi-sim on a free loopback port and connect to it\n"
	      "  -c, --config FILE     configuration file\n"
	      "  -u, --user USER       default root\n"
	      "  --password-file FILE  read the password from the first line of FILE\n"
	      "  --password-env VAR    read the password from an environment variable\n"
	      "  -k, --insecure        accept any TLS certificate\n"
	      "  --fingerprint SHA256  accept only this certificate\n"
	      "  --vnc HOST:PORT       open the console viewer on a plain RFB server\n"
	      "  --theme NAME          a theme from themes/ or a path\n"
	      "  --log FILE            write a debug log\n"
	      "  -h, --help; -V, --version\n",
	      f);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("xentui %s\n", XENTUI_VERSION);
			return 0;
		}
	}
	usage(stderr);
	fputs("xentui: the client is not built yet; see build/xapi-sim\n", stderr);
	return 2;
}
