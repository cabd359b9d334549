/* Deliberate kernel faults, for testing the panic report end to end
 * (kernel command line "crash=KIND"). */
#pragma once

/* Fault in the way `kind` names: "pf" (write to an unmapped address), "gp"
 * (non-canonical access), "ud" (invalid opcode), "de" (divide by zero),
 * "assert" (a failed KASSERT). Returns only for an unknown kind, after a
 * warning line. */
void crash_on_purpose(const char *kind);
