/* The protocol of servers/echo, the smallest request/reply server. It
 * registers its endpoint with the name service as "echo"; a client calls
 * it through mica_service_call (mica/names.h) with MICA_SERVICE("echo"). */
#pragma once

/* w[0..3] and the data (up to MICA_IPC_BUF_MAX bytes, in the caller's IPC
 * buffer) -> the same words and bytes, label ECHO_SAY. */
#define ECHO_SAY 1u
