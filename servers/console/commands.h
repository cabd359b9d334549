/* The console's commands: each takes the words after its name (argc,
 * argv; argv[0] is the command) and prints its answer. */
#pragma once

/* Run the command line `line` (split into words in place). An unknown
 * command or bad arguments print one line saying so. */
void command_run(char *line);

/* Print the list of commands. */
void command_help(void);
