/* Deliberate kernel faults, for testing the panic report end to end
 * (kernel command line "crash=KIND"). */
#pragma once

#include "kernel/selftest.h"
