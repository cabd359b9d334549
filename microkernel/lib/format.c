/* printf-style formatting for the kernel (no floating point). Output goes
 * through a sink in chunks so that the console can write it straight out. */
#include "lib/format.h"

struct fmt_spec {
    bool left, zero, plus, space, alt;
    int width, prec; /* prec < 0: none */
};

struct out {
    fmt_sink_fn sink;
    void *ctx;
    size_t count;
};

static void emit(struct out *o, const char *s, size_t n)
{
    if (n) {
        o->sink(o->ctx, s, n);
        o->count += n;
    }
}

static void pad(struct out *o, char c, int n)
{
    char buf[16];
    for (int i = 0; i < 16; i++)
        buf[i] = c;
    while (n > 0) {
        int k = n > 16 ? 16 : n;
        emit(o, buf, (size_t)k);
        n -= k;
    }
}

/* Emit `body` (digits or text) with sign/prefix, precision zeros and padding. */
static void emit_field(struct out *o, const struct fmt_spec *sp, const char *prefix,
                       const char *body, int len, int zeros)
{
    int plen = 0;
    while (prefix[plen])
        plen++;
    int total = plen + zeros + len;
    int fill = sp->width > total ? sp->width - total : 0;
    if (!sp->left && !sp->zero)
        pad(o, ' ', fill);
    emit(o, prefix, (size_t)plen);
    if (!sp->left && sp->zero)
        pad(o, '0', fill);
    pad(o, '0', zeros);
    emit(o, body, (size_t)len);
    if (sp->left)
        pad(o, ' ', fill);
}

static void format_int(struct out *o, struct fmt_spec *sp, unsigned long long v, bool neg,
                       unsigned base, bool upper, char conv)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    int len = 0;
    int i = (int)sizeof buf;
    bool nonzero = v != 0;
    if (!(v == 0 && sp->prec == 0)) {
        do {
            buf[--i] = digits[v % base];
            v /= base;
        } while (v);
    }
    len = (int)sizeof buf - i;
    const char *prefix = "";
    if (neg)
        prefix = "-";
    else if (sp->plus && conv == 'd')
        prefix = "+";
    else if (sp->space && conv == 'd')
        prefix = " ";
    else if (sp->alt && base == 16 && nonzero)
        prefix = upper ? "0X" : "0x";
    else if (sp->alt && base == 8 && nonzero)
        prefix = "0";
    int zeros = sp->prec > len ? sp->prec - len : 0;
    if (sp->prec >= 0)
        sp->zero = false;
    emit_field(o, sp, prefix, buf + i, len, zeros);
}

static const char *parse_spec(const char *f, struct fmt_spec *sp, va_list *ap)
{
    *sp = (struct fmt_spec){.prec = -1};
    for (;; f++) {
        if (*f == '-') sp->left = true;
        else if (*f == '0') sp->zero = true;
        else if (*f == '+') sp->plus = true;
        else if (*f == ' ') sp->space = true;
        else if (*f == '#') sp->alt = true;
        else break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = true;
            sp->width = -sp->width;
        }
        f++;
    } else {
        while (*f >= '0' && *f <= '9')
            sp->width = sp->width * 10 + (*f++ - '0');
    }
    if (*f == '.') {
        f++;
        sp->prec = 0;
        if (*f == '*') {
            sp->prec = va_arg(*ap, int);
            f++;
        } else {
            while (*f >= '0' && *f <= '9')
                sp->prec = sp->prec * 10 + (*f++ - '0');
        }
    }
    if (sp->left)
        sp->zero = false;
    return f;
}

/* Length modifiers: 0 int, 1 long, 2 long long, -1 short, -2 char. */
static const char *parse_length(const char *f, int *lm)
{
    *lm = 0;
    if (*f == 'h') { *lm = -1; f++; if (*f == 'h') { *lm = -2; f++; } }
    else if (*f == 'l') { *lm = 1; f++; if (*f == 'l') { *lm = 2; f++; } }
    else if (*f == 'z' || *f == 't' || *f == 'j') { *lm = 2; f++; }
    return f;
}

static unsigned long long get_unsigned(va_list *ap, int lm)
{
    switch (lm) {
    case 2: return va_arg(*ap, unsigned long long);
    case 1: return va_arg(*ap, unsigned long);
    case -1: return (unsigned short)va_arg(*ap, unsigned int);
    case -2: return (unsigned char)va_arg(*ap, unsigned int);
    default: return va_arg(*ap, unsigned int);
    }
}

static long long get_signed(va_list *ap, int lm)
{
    switch (lm) {
    case 2: return va_arg(*ap, long long);
    case 1: return va_arg(*ap, long);
    case -1: return (short)va_arg(*ap, int);
    case -2: return (signed char)va_arg(*ap, int);
    default: return va_arg(*ap, int);
    }
}

size_t fmt_vformat(fmt_sink_fn sink, void *ctx, const char *fmt, va_list ap_in)
{
    struct out o = {sink, ctx, 0};
    va_list ap;
    va_copy(ap, ap_in);
    while (*fmt) {
        const char *start = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        emit(&o, start, (size_t)(fmt - start));
        if (!*fmt)
            break;
        fmt++;
        struct fmt_spec sp;
        int lm;
        fmt = parse_spec(fmt, &sp, &ap);
        fmt = parse_length(fmt, &lm);
        char conv = *fmt ? *fmt++ : '\0';
        switch (conv) {
        case 'd': case 'i': {
            long long v = get_signed(&ap, lm);
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            format_int(&o, &sp, mag, v < 0, 10, false, 'd');
            break;
        }
        case 'u': format_int(&o, &sp, get_unsigned(&ap, lm), false, 10, false, 'u'); break;
        case 'x': format_int(&o, &sp, get_unsigned(&ap, lm), false, 16, false, 'x'); break;
        case 'X': format_int(&o, &sp, get_unsigned(&ap, lm), false, 16, true, 'x'); break;
        case 'o': format_int(&o, &sp, get_unsigned(&ap, lm), false, 8, false, 'o'); break;
        case 'p':
            sp.alt = true;
            format_int(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false, 'p');
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            sp.prec = -1;
            emit_field(&o, &sp, "", &c, 1, 0);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int len = 0;
            while (s[len] && (sp.prec < 0 || len < sp.prec))
                len++;
            sp.zero = false;
            emit_field(&o, &sp, "", s, len, 0);
            break;
        }
        case '%': emit(&o, "%", 1); break;
        default: /* unknown conversion: print it verbatim so the bug shows */
            emit(&o, "%?", 2);
            break;
        }
    }
    va_end(ap);
    return o.count;
}

struct buf_ctx {
    char *buf;
    size_t size, pos;
};

static void buf_sink(void *ctx, const char *s, size_t n)
{
    struct buf_ctx *b = ctx;
    for (size_t i = 0; i < n; i++, b->pos++)
        if (b->size && b->pos < b->size - 1)
            b->buf[b->pos] = s[i];
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct buf_ctx b = {buf, size, 0};
    size_t n = fmt_vformat(buf_sink, &b, fmt, ap);
    if (size)
        buf[b.pos < size ? b.pos : size - 1] = '\0';
    return (int)n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
