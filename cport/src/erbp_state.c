/* erbp_state.c - the network instance: layout in the caller's arena, initialisation from a seed
 * (docs/semantics.md section 6), reset (section 4), and access to the full state (the variables
 * of erbp_var_t: describe, size, read, write, by range). */
#include "erbp_internal.h"

/* ---- small helpers --------------------------------------------------------------------------- */

static void zero_i16(int16_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = 0;
}

static void zero_u16(uint16_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = 0;
}

static void zero_i32(int32_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = 0;
}

static void zero_u8(uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = 0;
}

/* ---- initialisation (section 6) -------------------------------------------------------------- */

void erbp__init_weights(erbp_net_t *net)
{
    const erbp_config_t *c = &net->cfg;
    uint32_t l, h, i, k;
    for (l = 0; l < net->n_layers; l++) {
        uint32_t key = erbp_key(net->seed, erbp_stream(ERBP_STREAM_INIT_W, l), 0, 0);
        uint32_t n = net->size[l] * net->size[l + 1];
        int32_t amp = c->init_amp[l];
        if (erbp__wbytes(c) == 1) {
            int8_t *w = (int8_t *)net->w[l];
            for (i = 0; i < n; i++)
                w[i] = (int8_t)erbp_uniform(erbp_draw(key, i), amp);
        } else {
            int16_t *w = (int16_t *)net->w[l];
            for (i = 0; i < n; i++)
                w[i] = (int16_t)erbp_uniform(erbp_draw(key, i), amp);
        }
    }
    for (h = 0; h < (uint32_t)c->n_hidden; h++) {
        uint32_t key = erbp_key(net->seed, erbp_stream(ERBP_STREAM_INIT_G, h), 0, 0);
        uint32_t nh = net->size[h + 1], n_out = (uint32_t)c->n_out;
        int16_t *g = net->g[h];
        for (i = 0; i < nh; i++) {
            int32_t s = 0, m, rem;
            for (k = 0; k < n_out; k++) {
                int32_t r = erbp_uniform(erbp_draw(key, k * nh + i), c->g_amp);
                g[k * nh + i] = (int16_t)r;
                s += r;
            }
            /* m = floor(s / n_out) (C division truncates), rem = s - m * n_out in [0, n_out) */
            m = s / c->n_out;
            if (m * c->n_out > s)
                m -= 1;
            rem = s - m * c->n_out;
            for (k = 0; k < n_out; k++)
                g[k * nh + i] = (int16_t)(g[k * nh + i] - m - ((int32_t)k < rem ? 1 : 0));
        }
    }
}

/* ---- reset (section 4) ----------------------------------------------------------------------- */

void erbp__reset_state(erbp_net_t *net)
{
    uint32_t p;
    for (p = 0; p < net->n_pops; p++) {
        erbp_pop_t *q = &net->pop[p];
        uint32_t np = erbp__pad(q->n); /* the padding lanes too: they must hold defined values */
        zero_i16(q->I, np);
        zero_i16(q->V, np);
        zero_i16(q->U, np);
        zero_u16(q->count, np);
        zero_u8(q->ref, np);
        zero_u8(q->spk, np);
        q->n_spk = 0;
    }
    zero_u8(net->in_ref, net->size[0]);
    zero_u8(net->in_spk, net->size[0]);
    zero_i16(net->ep, (uint32_t)net->cfg.n_out);
    zero_i16(net->en, (uint32_t)net->cfg.n_out);
    zero_u8(net->ep_spk, (uint32_t)net->cfg.n_out);
    zero_u8(net->en_spk, (uint32_t)net->cfg.n_out);
    zero_i32(net->R, (uint32_t)net->cfg.n_out);
    net->n_in_spk = 0;
    net->in_dirty = net->rom ? 1u : 0u; /* read-only: always the full layout (no in_nz) */
    net->tick = 0;
    net->label_phase = 0;
    net->events = 0;
    net->input_spikes = 0;
    net->hidden_spikes = 0;
}

/* ---- the instance ---------------------------------------------------------------------------- */

size_t erbp_net_struct_bytes(void)
{
    return sizeof(erbp_net_t);
}

erbp_status_t erbp__net_layout(erbp_net_t *net, void *arena, size_t arena_bytes,
                               const erbp_config_t *cfg, uint32_t seed, int rom)
{
    erbp_status_t st;
    uint32_t p;
    if (!net)
        return ERBP_E_NULL;
    net->ready = 0;
    if (!arena || !cfg)
        return ERBP_E_NULL;
    if (((uintptr_t)arena & 3u) != 0)
        return ERBP_E_ALIGN;
    st = erbp_config_check(cfg, 0);
    if (st != ERBP_OK)
        return st;
    if (arena_bytes < (size_t)erbp__layout(cfg, 0, 0, rom))
        return ERBP_E_SIZE;
    erbp__config_copy(&net->cfg, cfg);
    net->seed = seed;
    net->samples_seen = 0;
    erbp__layout(&net->cfg, net, (uint8_t *)arena, rom);
    net->px = net->pixels;
    net->rom = (const uint8_t *)0;
    for (p = net->n_pops; p < ERBP_MAX_LAYERS; p++)
        net->pop[p].n = 0;
    net->begun = 0;
    net->sample = 0;
    net->label = -1;
    net->mode = ERBP_INFER;
    net->ticks = 0;
    net->n_nz = 0;
    erbp__reset_state(net);
    net->ready = ERBP_READY;
    return ERBP_OK;
}

erbp_status_t erbp_net_init(erbp_net_t *net, void *arena, size_t arena_bytes,
                            const erbp_config_t *cfg, uint32_t seed)
{
    erbp_status_t st = erbp__net_layout(net, arena, arena_bytes, cfg, seed, 0);
    if (st == ERBP_OK)
        erbp__init_weights(net);
    return st;
}

erbp_status_t erbp_net_init_rom(erbp_net_t *net, const void *model, size_t model_bytes,
                                void *state, size_t state_bytes)
{
    const uint8_t *f = (const uint8_t *)model;
    static const uint16_t one = 1u;
    uint32_t seed, seen, l;
    erbp_status_t st;
    if (!net)
        return ERBP_E_NULL;
    net->ready = 0;
    if (!model || !state)
        return ERBP_E_NULL;
    /* the configuration straight into net->cfg (no copy on the stack of a small board) */
    st = erbp_model_check(f, model_bytes, &net->cfg, &seed, &seen);
    if (st != ERBP_OK)
        return st;
    if (((uintptr_t)model & 3u) != 0 ||
        (erbp__wbytes(&net->cfg) == 2u && *(const uint8_t *)&one != 1u)) /* big-endian int16 */
        return ERBP_E_ALIGN;
    st = erbp__net_layout(net, state, state_bytes, &net->cfg, seed, 1);
    if (st != ERBP_OK)
        return st;
    /* the weights in place: the body starts at a multiple of 4 and every W_l has an even
     * number of bytes, so 16-bit weights are aligned (G may not be: it is read through
     * erbp__rom_array, byte by byte, and net->g stays NULL) */
    net->rom = f;
    for (l = 0; l < net->n_layers; l++)
        net->w[l] = (void *)(uintptr_t)erbp__rom_array(net, l);
    net->samples_seen = seen;
    erbp__reset_state(net);
    net->ready = ERBP_READY;
    return ERBP_OK;
}

int erbp_net_is_rom(const erbp_net_t *net)
{
    return erbp__ready(net) && net->rom != (const uint8_t *)0;
}

erbp_status_t erbp_net_reset_state(erbp_net_t *net)
{
    if (!net)
        return ERBP_E_NULL;
    if (!erbp__ready(net))
        return ERBP_E_STATE;
    erbp__reset_state(net);
    return ERBP_OK;
}

const erbp_config_t *erbp_net_config(const erbp_net_t *net)
{
    return erbp__ready(net) ? &net->cfg : (const erbp_config_t *)0;
}

uint32_t erbp_net_seed(const erbp_net_t *net)
{
    return erbp__ready(net) ? net->seed : 0u;
}

uint32_t erbp_net_samples_seen(const erbp_net_t *net)
{
    return erbp__ready(net) ? net->samples_seen : 0u;
}

erbp_status_t erbp_net_set_samples_seen(erbp_net_t *net, uint32_t samples_seen)
{
    if (!net)
        return ERBP_E_NULL;
    if (!erbp__ready(net))
        return ERBP_E_STATE;
    net->samples_seen = samples_seen;
    return ERBP_OK;
}

/* ---- the two layouts of the input refractory counters (erbp_internal.h) ---------------------- */

/* Packed to full. */
static void in_ref_unpack(erbp_net_t *net)
{
    uint8_t *r = net->in_ref;
    uint32_t s = net->n_nz;
    while (s-- > 0) { /* descending: slot s is read before anything can land on it */
        uint8_t v = r[s];
        r[s] = 0;
        r[net->in_nz[s]] = v;
    }
}

void erbp__in_ref_pack(erbp_net_t *net)
{
    uint8_t *r = net->in_ref;
    uint32_t s;
    for (s = 0; s < net->n_nz; s++) { /* ascending: in_nz[s] is not yet overwritten */
        uint8_t v = r[net->in_nz[s]];
        r[net->in_nz[s]] = 0;
        r[s] = v;
    }
}

/* The counter of input j in either layout (binary search of in_nz when packed). */
static uint32_t in_ref_at(const erbp_net_t *net, uint32_t j)
{
    uint32_t lo = 0, hi = net->n_nz;
    if (net->in_dirty)
        return net->in_ref[j];
    while (lo < hi) { /* at most log2(n_in) + 1 rounds */
        uint32_t mid = lo + (hi - lo) / 2u;
        if (net->in_nz[mid] < j)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo < net->n_nz && net->in_nz[lo] == j ? net->in_ref[lo] : 0u;
}

/* ---- full state ------------------------------------------------------------------------------ */

ERBP_STATIC_ASSERT(ERBP_VAR_KINDS == ERBP_VAR_R + 1, var_kinds_matches_enum);

/* T_LE16: int16 as two little-endian bytes (a read-only network's file, read in place) */
enum { T_I8, T_I16, T_U8, T_U16, T_LE16, T_I32 };

typedef struct var_desc {
    void *p;
    uint32_t n;
    int32_t type, lo, hi;
    const erbp_net_t *packed; /* IN_REF in the packed layout: read through in_ref_at */
} var_desc_t;

static erbp_status_t describe(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                              var_desc_t *d)
{
    const erbp_config_t *c = &net->cfg;
    int32_t smax = erbp__smax(c), wmax = erbp__wmax(c);
    const erbp_pop_t *q = index < net->n_pops ? &net->pop[index] : (const erbp_pop_t *)0;
    uint32_t n_out = (uint32_t)c->n_out, n_in = net->size[0];
    d->lo = 0;
    d->hi = 1;
    d->type = T_U8;
    d->packed = (const erbp_net_t *)0;
    switch (var) {
    case ERBP_VAR_W:
        if (index >= net->n_layers)
            return ERBP_E_ARG;
        d->p = net->w[index];
        d->n = net->size[index] * net->size[index + 1];
        d->type = erbp__wbytes(c) == 1 ? T_I8 : net->rom ? T_LE16 : T_I16;
        d->lo = -wmax - 1;
        d->hi = wmax;
        return ERBP_OK;
    case ERBP_VAR_G:
        if (index + 1u >= net->n_pops)
            return ERBP_E_ARG;
        d->p = net->rom ? (void *)(uintptr_t)erbp__rom_array(net, net->n_layers + index)
                        : (void *)net->g[index];
        d->n = n_out * net->size[index + 1];
        d->type = net->rom ? T_LE16 : T_I16; /* in a file: maybe at an odd address */
        d->lo = -32768;
        d->hi = 32767;
        return ERBP_OK;
    case ERBP_VAR_I:
    case ERBP_VAR_V:
    case ERBP_VAR_U:
        if (!q)
            return ERBP_E_ARG;
        d->p = var == ERBP_VAR_I ? q->I : var == ERBP_VAR_V ? q->V : q->U;
        d->n = q->n;
        d->type = T_I16;
        d->lo = -smax - 1;
        d->hi = smax;
        return ERBP_OK;
    case ERBP_VAR_REF:
    case ERBP_VAR_SPK:
    case ERBP_VAR_COUNT:
        if (!q)
            return ERBP_E_ARG;
        d->n = q->n;
        if (var == ERBP_VAR_COUNT) {
            d->p = q->count;
            d->type = T_U16;
            d->hi = 65535;
        } else {
            d->p = var == ERBP_VAR_REF ? q->ref : q->spk;
            d->hi = var == ERBP_VAR_REF ? 255 : 1;
        }
        return ERBP_OK;
    case ERBP_VAR_IN_REF:
    case ERBP_VAR_IN_SPK:
        if (index != 0)
            return ERBP_E_ARG;
        d->p = var == ERBP_VAR_IN_REF ? net->in_ref : net->in_spk;
        if (var == ERBP_VAR_IN_REF && !net->in_dirty)
            d->packed = net;
        d->n = n_in;
        d->hi = var == ERBP_VAR_IN_REF ? 255 : 1;
        return ERBP_OK;
    case ERBP_VAR_EP:
    case ERBP_VAR_EN:
        if (index != 0)
            return ERBP_E_ARG;
        d->p = var == ERBP_VAR_EP ? net->ep : net->en;
        d->n = n_out;
        d->type = T_I16;
        d->hi = c->err_threshold - 1;
        return ERBP_OK;
    case ERBP_VAR_EP_SPK:
    case ERBP_VAR_EN_SPK:
        if (index != 0)
            return ERBP_E_ARG;
        d->p = var == ERBP_VAR_EP_SPK ? net->ep_spk : net->en_spk;
        d->n = n_out;
        return ERBP_OK;
    case ERBP_VAR_R:
        if (index != 0)
            return ERBP_E_ARG;
        d->p = net->R;
        d->n = n_out;
        d->type = T_I32;
        d->lo = -ERBP_READOUT_BOUND;
        d->hi = ERBP_READOUT_BOUND;
        return ERBP_OK;
    default:
        return ERBP_E_ARG;
    }
}

erbp_status_t erbp_var_size(const erbp_net_t *net, erbp_var_t var, uint32_t index, uint32_t *n)
{
    var_desc_t d;
    erbp_status_t st;
    if (!net || !n)
        return ERBP_E_NULL;
    if (!erbp__ready(net))
        return ERBP_E_STATE;
    st = describe(net, var, index, &d);
    if (st == ERBP_OK)
        *n = d.n;
    return st;
}

/* Values [first, first + n) of a described variable, as int32. */
static void read_values(const var_desc_t *d, uint32_t first, int32_t *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        size_t k = first + i;
        if (d->packed) {
            out[i] = (int32_t)in_ref_at(d->packed, (uint32_t)k);
            continue;
        }
        switch (d->type) {
        case T_I8: out[i] = ((const int8_t *)d->p)[k]; break;
        case T_I16: out[i] = ((const int16_t *)d->p)[k]; break;
        case T_U16: out[i] = ((const uint16_t *)d->p)[k]; break;
        case T_LE16: out[i] = erbp__le16((const uint8_t *)d->p + 2u * k); break;
        case T_I32: out[i] = ((const int32_t *)d->p)[k]; break;
        default: out[i] = ((const uint8_t *)d->p)[k]; break;
        }
    }
}

/* Describe a variable of a ready network and check that [first, first + n) lies within it. */
static erbp_status_t describe_range(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                                    uint32_t first, size_t n, var_desc_t *d)
{
    erbp_status_t st;
    if (!erbp__ready(net))
        return ERBP_E_STATE;
    st = describe(net, var, index, d);
    if (st == ERBP_OK && (first > d->n || n > (size_t)(d->n - first)))
        st = ERBP_E_SIZE;
    return st;
}

erbp_status_t erbp_read_var(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                            int32_t *out, size_t n)
{
    var_desc_t d;
    erbp_status_t st;
    if (!net || !out)
        return ERBP_E_NULL;
    st = describe_range(net, var, index, 0, 0, &d);
    if (st != ERBP_OK)
        return st;
    if (n < (size_t)d.n)
        return ERBP_E_SIZE;
    read_values(&d, 0, out, d.n);
    return ERBP_OK;
}

erbp_status_t erbp_read_var_range(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                                  uint32_t first, int32_t *out, size_t n)
{
    var_desc_t d;
    erbp_status_t st;
    if (!net || !out)
        return ERBP_E_NULL;
    st = describe_range(net, var, index, first, n, &d);
    if (st == ERBP_OK)
        read_values(&d, first, out, n);
    return st;
}

erbp_status_t erbp_write_var_range(erbp_net_t *net, erbp_var_t var, uint32_t index,
                                   uint32_t first, const int32_t *in, size_t n)
{
    var_desc_t d;
    erbp_status_t st;
    size_t i;
    if (!net || !in)
        return ERBP_E_NULL;
    st = describe_range(net, var, index, first, n, &d);
    if (st != ERBP_OK)
        return st;
    if (net->rom && (var == ERBP_VAR_W || var == ERBP_VAR_G))
        return ERBP_E_ARG; /* read-only */
    for (i = 0; i < n; i++)
        if (in[i] < d.lo || in[i] > d.hi)
            return ERBP_E_VALUE;
    if ((var == ERBP_VAR_IN_REF || var == ERBP_VAR_IN_SPK) && !net->in_dirty) {
        in_ref_unpack(net); /* the full layout from here on (phase 2's literal rule) */
        net->in_dirty = 1;
    }
    for (i = 0; i < n; i++) {
        size_t k = first + i;
        switch (d.type) {
        case T_I8: ((int8_t *)d.p)[k] = (int8_t)in[i]; break;
        case T_I16: ((int16_t *)d.p)[k] = (int16_t)in[i]; break;
        case T_U16: ((uint16_t *)d.p)[k] = (uint16_t)in[i]; break;
        case T_I32: ((int32_t *)d.p)[k] = in[i]; break;
        default: ((uint8_t *)d.p)[k] = (uint8_t)in[i]; break;
        }
    }
    if (var == ERBP_VAR_SPK) { /* keep the spike list (what phase 3 reads) consistent */
        erbp_pop_t *q = &net->pop[index];
        uint32_t j;
        q->n_spk = 0;
        for (j = 0; j < q->n; j++)
            if (q->spk[j])
                q->list[q->n_spk++] = (uint16_t)j;
    }
    return ERBP_OK;
}

erbp_status_t erbp_write_var(erbp_net_t *net, erbp_var_t var, uint32_t index,
                             const int32_t *in, size_t n)
{
    var_desc_t d;
    erbp_status_t st;
    if (!net || !in)
        return ERBP_E_NULL;
    st = describe_range(net, var, index, 0, 0, &d);
    if (st != ERBP_OK)
        return st;
    if (n != (size_t)d.n)
        return ERBP_E_SIZE;
    return erbp_write_var_range(net, var, index, 0, in, n);
}
