/* libsys-internal: the start of a program sets its log level. */
#pragma once

/* Read `log=LEVEL` from the start info's arguments into mica_log_current
 * (after the grant names are taken off; see start.c). */
void log_init(void);
