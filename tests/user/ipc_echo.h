/* The protocol of the ipc_echo server (ipc_echo.c), the IPC partner of
 * test_ipc, test_leaks, test_protection and bench_ipc. init starts it with
 * the endpoint "ipc_echo" (the grant "ipc_echo") and gives every test
 * program a send copy of it, also called "ipc_echo" (boot.cfg:
 * send:ipc_echo). Every request is a call; the reply's label is the
 * request's label unless noted. */
#pragma once

#define ECHO_WORDS        1u /* reply words w[i] + 1 */
#define ECHO_BADGE        2u /* reply w[0] = the badge the request came with */
#define ECHO_BUFFER       3u /* reply the request's data bytes each XOR ECHO_BUFFER_XOR,
                              * same length; w[0] = the length received */
#define ECHO_HANDLE_BACK  4u /* transfer the received handle back; w[0] = 1 if one came */
#define ECHO_NEW_ENDPOINT 5u /* create an endpoint and transfer it (all rights); w[0] = 0
                              * or the error */
#define ECHO_PING         6u /* empty reply: the cheapest round trip (benchmarks) */
#define ECHO_DATA         7u /* reply with as many data bytes as came, untouched (the
                              * buffer still holds them): a pure IPC copy both ways */

#define ECHO_BUFFER_XOR   0xa5u
