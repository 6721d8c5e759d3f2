#include "program.h"

#include "screens.h"

const struct tui_screens program_screens = {
	.commands = screen_commands,
	.help = &screen_help,
	.home = &screen_dashboard,
	.servers = &screen_servers,
	.console = &screen_console,
	.local = &screen_local,
};
