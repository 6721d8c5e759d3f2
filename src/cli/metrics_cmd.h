/* `xentui metrics serve [--listen ADDR:PORT]` and `xentui metrics dump [--json]`:
 * the configured pools' performance data in the OpenMetrics text format. */
#ifndef XENTUI_CLI_METRICS_CMD_H
#define XENTUI_CLI_METRICS_CMD_H

/* argv[0] is "metrics"; options may follow anywhere. Returns the exit status. */
int metrics_main(int argc, char **argv);

#endif
