/* mica/args.h: key=value words of the argument string. */
#include <mica/args.h>
#include <mica/string.h>

uint64_t mica_arg_u64(const char *args, const char *key, uint64_t otherwise)
{
    size_t klen = strlen(key);
    for (const char *p = args; *p; p++) {
        /* a whole word that starts with "key=" */
        if ((p != args && p[-1] != ' ') || strncmp(p, key, klen) != 0 || p[klen] != '=')
            continue;
        p += klen + 1;
        uint64_t v = 0, base = 10;
        if (p[0] == '0' && p[1] == 'x') {
            base = 16;
            p += 2;
        }
        for (;; p++) {
            unsigned d = *p >= '0' && *p <= '9' ? (unsigned)(*p - '0')
                       : base == 16 && *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10)
                                                              : 99u;
            if (d >= base)
                return v;
            v = v * base + d;
        }
    }
    return otherwise;
}
