/* Names of the MICA_E* error codes, for messages. */
#include <mica/sys.h>

static const char *const names[] = {
    [MICA_OK] = "OK",          [MICA_ENOMEM] = "ENOMEM",   [MICA_EINVAL] = "EINVAL",
    [MICA_EEXIST] = "EEXIST",  [MICA_ENOENT] = "ENOENT",   [MICA_EFAULT] = "EFAULT",
    [MICA_EPERM] = "EPERM",    [MICA_EBADH] = "EBADH",     [MICA_ERANGE] = "ERANGE",
    [MICA_EAGAIN] = "EAGAIN",  [MICA_EDEAD] = "EDEAD",     [MICA_ENOSYS] = "ENOSYS",
    [MICA_ENOEXEC] = "ENOEXEC", [MICA_E2BIG] = "E2BIG",    [MICA_ENOSPC] = "ENOSPC",
};

const char *mica_error_name(long err)
{
    unsigned long code = err < 0 ? (unsigned long)-err : (unsigned long)err;
    if (code < sizeof(names) / sizeof(names[0]) && names[code])
        return names[code];
    return "E?";
}
