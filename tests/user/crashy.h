/* The protocol of crashy (tests/user/crashy.c), a server that dies on
 * request, for the supervision test (test_supervise): init restarts it
 * (boot.cfg `server crashy recv:crashy restart=...`), so each answer names
 * the instance that gave it. */
#pragma once

#define CRASHY_PING 1 /* -> w0 = this instance's task id */
#define CRASHY_EXIT 2 /* w0 = status -> 0, then the instance exits with status */
#define CRASHY_DIE_HOLDING 3 /* the instance takes the call, lets the other ready
                              * threads run (a caller may queue meanwhile) and exits
                              * without answering: its caller gets -MICA_EDEAD */
