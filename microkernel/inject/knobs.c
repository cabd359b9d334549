/* The knob logic of the injection points (knobs.h): the spec parser and
 * the decision. Linux's fault-injection attributes are the model
 * (probability, interval, times); nth, after and the per-point seeded
 * generator make a run replay exactly from its command line. */
#include "inject/knobs.h"

#include "lib/string.h"

void inject_knobs_default(struct inject_knobs *k)
{
    *k = (struct inject_knobs){.probability = INJECT_PPM, .interval = 1, .times = 1,
                               .verbose = 1};
}

static bool word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && strncmp(w, lit, n) == 0;
}

/* Decimal digits w[0..n) into *v (no sign, no overflow). */
static bool parse_u64(const char *w, size_t n, uint64_t *v)
{
    if (n == 0 || n > 19)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] < '0' || w[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(w[i] - '0');
    }
    *v = x;
    return true;
}

/* A percentage with up to four decimals ("50", "0.5", "100.0") into
 * millionths. */
static bool parse_percent(const char *w, size_t n, uint32_t *ppm)
{
    size_t dot = 0;
    while (dot < n && w[dot] != '.')
        dot++;
    uint64_t whole, frac = 0;
    if (!parse_u64(w, dot, &whole) || whole > 100)
        return false;
    if (dot < n) {
        size_t fn = n - dot - 1;
        if (fn == 0 || fn > 4 || !parse_u64(w + dot + 1, fn, &frac))
            return false;
        for (size_t i = fn; i < 4; i++)
            frac *= 10;
    }
    uint64_t v = whole * 10000 + frac;
    if (v > 100 * 10000)
        return false;
    *ppm = (uint32_t)v;
    return true;
}

/* Apply knob `key`=`val`; the phrase for a bad value, or NULL. */
static const char *apply_knob(const char *key, size_t kn, const char *val, size_t vn,
                              struct inject_knobs *k)
{
    uint64_t v;
    if (word_is(key, kn, "probability"))
        return parse_percent(val, vn, &k->probability) ? NULL
               : "probability must be a percentage from 0 to 100, at most 4 decimals";
    if (word_is(key, kn, "times")) {
        if (word_is(val, vn, "-1")) {
            k->times = -1;
            return NULL;
        }
        if (!parse_u64(val, vn, &v) || v > INT64_MAX)
            return "times must be -1 or a count";
        k->times = (int64_t)v;
        return NULL;
    }
    if (word_is(key, kn, "task")) {
        if (vn == 0 || vn >= INJECT_TASK_MAX)
            return "task name empty or too long";
        memcpy(k->task, val, vn);
        k->task[vn] = '\0';
        return NULL;
    }
    if (word_is(key, kn, "after")) {
        static const char insn[] = "insn:";
        if (vn > sizeof insn - 1 && strncmp(val, insn, sizeof insn - 1) == 0) {
            if (!parse_u64(val + sizeof insn - 1, vn - (sizeof insn - 1), &k->after_insn))
                return "after=insn:N needs a count of guest instructions";
            return NULL;
        }
        return parse_u64(val, vn, &k->after_calls) ? NULL
               : "after must be N (calls) or insn:N (guest instructions)";
    }
    static const char *const numeric[] = {"interval", "nth", "verbose", "ticks", "seed"};
    bool known = false;
    for (size_t i = 0; i < sizeof numeric / sizeof numeric[0]; i++)
        known |= word_is(key, kn, numeric[i]);
    if (!known)
        return "unknown knob";
    if (!parse_u64(val, vn, &v))
        return "value must be a decimal number";
    if (word_is(key, kn, "interval") && v <= UINT32_MAX)
        k->interval = (uint32_t)v;
    else if (word_is(key, kn, "nth"))
        k->nth = v;
    else if (word_is(key, kn, "verbose") && v <= 2)
        k->verbose = (uint32_t)v;
    else if (word_is(key, kn, "ticks") && v >= 1 && v <= 1000)
        k->ticks = (uint32_t)v;
    else if (word_is(key, kn, "seed")) {
        k->seed = v;
        k->has_seed = true;
    } else
        return "value out of range (verbose 0-2, ticks 1-1000)";
    return NULL;
}

static int fail(struct inject_bad *bad, size_t at, size_t len, const char *why)
{
    *bad = (struct inject_bad){.at = at, .len = len, .why = why};
    return -1;
}

int inject_spec_parse(const char *s, size_t n, size_t *name_at, size_t *name_len,
                      struct inject_knobs *k, struct inject_bad *bad)
{
    inject_knobs_default(k);
    size_t i = 0;
    while (i < n && s[i] != ':')
        i++;
    if (i == 0)
        return fail(bad, 0, n, "no point name");
    *name_at = 0;
    *name_len = i;
    if (i == n)
        return 0;
    i++; /* past ':' */
    if (i == n)
        return fail(bad, i - 1, 1, "nothing after ':'");
    while (i < n) {
        size_t start = i;
        while (i < n && s[i] != ',')
            i++;
        size_t eq = start;
        while (eq < i && s[eq] != '=')
            eq++;
        if (eq == i || eq == start)
            return fail(bad, start, i - start, "knob must be name=value");
        const char *why = apply_knob(s + start, eq - start, s + eq + 1, i - eq - 1, k);
        if (why)
            return fail(bad, start, i - start, why);
        if (i < n && ++i == n)
            return fail(bad, n - 1, 1, "trailing ','");
    }
    return 0;
}

/* splitmix64: spreads a seed and an index over the whole state. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void inject_state_reset(struct inject_state *s, uint64_t run_seed, unsigned index)
{
    uint64_t seed = s->k.has_seed ? s->k.seed : run_seed;
    s->rng = mix(seed ^ mix(index + 1));
    if (s->rng == 0)
        s->rng = 1;
    s->calls = 0;
    s->fired = 0;
}

uint64_t inject_next(struct inject_state *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

bool inject_decide(struct inject_state *s, uint64_t now)
{
    const struct inject_knobs *k = &s->k;
    if (k->times == 0 || now < k->after_insn)
        return false;
    s->calls++;
    if (s->calls <= k->after_calls)
        return false;
    uint64_t n = s->calls - k->after_calls; /* calls since the point armed */
    if (k->nth && n != k->nth)
        return false;
    if (k->interval > 1 && n % k->interval != 0)
        return false;
    if (k->probability < INJECT_PPM && inject_next(s) % INJECT_PPM >= k->probability)
        return false;
    s->fired++;
    if (s->k.times > 0)
        s->k.times--;
    return true;
}
