/* erbp_config.c - status strings, configuration checks, memory layout. */
#include "erbp_internal.h"

/* ---- status strings -------------------------------------------------------------------------- */

static const char *const status_names[] = {
    "ERBP_OK: success",
    "ERBP_E_NULL: a required pointer argument is NULL",
    "ERBP_E_SIZE: a buffer is too small or a length does not match the network",
    "ERBP_E_ALIGN: the arena is not 4-byte aligned",
    "ERBP_E_ARG: an argument is out of range",
    "ERBP_E_STATE: no sample in progress, the network is not initialised, or 65535 ticks reached",
    "ERBP_E_LABEL: training label outside [0, n_out)",
    "ERBP_E_VALUE: a value lies outside its width",
    "ERBP_E_CONFIG_RANGE: a configuration field lies outside its range",
    "ERBP_E_CONFIG_SLOT: an unused slot of a per-layer or per-hidden field is not 0",
    "ERBP_E_CONFIG_THRESHOLD: threshold exceeds the state range",
    "ERBP_E_CONFIG_ERR_W: err_label_w and err_pred_w must not exceed err_threshold",
    "ERBP_E_CONFIG_BURN_IN: burn_in exceeds ticks_train",
    "ERBP_E_CONFIG_G_AMP: 2 * n_out * g_amp must be <= 32767",
    "ERBP_E_CONFIG_GATE: gate_lo must be < gate_hi",
    "ERBP_E_CONFIG_INIT_AMP: init_amp exceeds the weight range",
    "ERBP_E_CONFIG_GAIN: n_pre * 2^(weight_bits-1) * 2^w_shift exceeds 2^30",
    "ERBP_E_FILE_TRUNCATED: the model file is truncated",
    "ERBP_E_FILE_MAGIC: not an erbp model file",
    "ERBP_E_FILE_FORMAT: another model-file format version",
    ("ERBP_E_FILE_SEMANTICS: the model was made for another semantics version (version 1: "
     "convert it with `erbp convert OLD.erbp NEW.erbp`, or retrain it)"),
    "ERBP_E_FILE_TRAILING: unexpected bytes after the declared end",
    "ERBP_E_FILE_CRC: CRC mismatch, the file is corrupt",
    "ERBP_E_FILE_WORDS: another number of configuration words",
    "ERBP_E_FILE_SIZE: the declared size does not match the configuration",
    "ERBP_E_FILE_WEIGHT: a weight lies outside the weight_bits range",
    "ERBP_E_FILE_PADDING: nonzero padding before the CRC",
};

ERBP_STATIC_ASSERT(sizeof status_names / sizeof status_names[0] == ERBP_STATUS_COUNT,
                   status_table_matches_enum);
ERBP_STATIC_ASSERT(ERBP_E_FILE_PADDING == -(ERBP_STATUS_COUNT - 1), status_count_matches_enum);
ERBP_STATIC_ASSERT(sizeof(erbp_config_t) == 4 * ERBP_CONFIG_WORDS, config_struct_is_the_words);

const char *erbp_status_str(erbp_status_t s)
{
    int32_t i = -(int32_t)s;
    if (i < 0 || i >= ERBP_STATUS_COUNT)
        return "unknown status";
    return status_names[i];
}

/* ---- configuration as words ------------------------------------------------------------------ */

/* Word i of a configuration, through the X-macro table (no assumption about struct layout): the
 * fields come in increasing offset order, so the first one that ends after i holds it. */
static const int32_t *config_word(const erbp_config_t *cfg, uint32_t i)
{
#define ERBP_WORD(name, off, slots, lo, hi, kind) \
    if (i < (uint32_t)(off) + (uint32_t)(slots)) \
        return (const int32_t *)&cfg->name + (i - (uint32_t)(off));
    ERBP_CONFIG_FIELDS(ERBP_WORD)
#undef ERBP_WORD
    return 0;
}

int32_t erbp__config_get(const erbp_config_t *cfg, uint32_t i)
{
    return *config_word(cfg, i);
}

void erbp__config_set(erbp_config_t *cfg, uint32_t i, int32_t v)
{
    *(int32_t *)config_word(cfg, i) = v;
}

/* (word by word: a struct assignment may compile to a memcpy call, which a freestanding
 * library cannot assume) */
void erbp__config_copy(erbp_config_t *dst, const erbp_config_t *src)
{
    uint32_t i;
    for (i = 0; i < ERBP_CONFIG_WORDS; i++)
        erbp__config_set(dst, i, *config_word(src, i));
}

erbp_status_t erbp_config_from_words(erbp_config_t *cfg, const int32_t *words, size_t n)
{
    uint32_t i;
    if (!cfg || !words)
        return ERBP_E_NULL;
    if (n != ERBP_CONFIG_WORDS)
        return ERBP_E_SIZE;
    for (i = 0; i < ERBP_CONFIG_WORDS; i++)
        erbp__config_set(cfg, i, words[i]);
    return ERBP_OK;
}

erbp_status_t erbp_config_to_words(const erbp_config_t *cfg, int32_t *words, size_t n)
{
    uint32_t i;
    if (!cfg || !words)
        return ERBP_E_NULL;
    if (n < ERBP_CONFIG_WORDS)
        return ERBP_E_SIZE;
    for (i = 0; i < ERBP_CONFIG_WORDS; i++)
        words[i] = *config_word(cfg, i);
    return ERBP_OK;
}

/* ---- validation (mirrors NetConfig.from_words + NetConfig.validate) -------------------------- */

/* Slots of a field in use for n_hidden hidden layers. */
static uint32_t used_slots(int32_t kind, int32_t slots, int32_t n_hidden)
{
    if (kind == ERBP_FIELD_PER_LAYER)
        return (uint32_t)n_hidden + 1u;
    if (kind == ERBP_FIELD_PER_HIDDEN)
        return (uint32_t)n_hidden;
    return (uint32_t)slots;
}

#define FAIL(code, off) \
    do { \
        if (where) \
            *where = (int32_t)(off); \
        return (code); \
    } while (0)

erbp_status_t erbp_config_check(const erbp_config_t *cfg, int32_t *where)
{
    int32_t nh, smax, wmax;
    uint32_t l, s, n_layers;
    if (where)
        *where = -1;
    if (!cfg)
        return ERBP_E_NULL;
    nh = cfg->n_hidden;
    if (nh < ERBP_N_HIDDEN_MIN || nh > ERBP_N_HIDDEN_MAX)
        FAIL(ERBP_E_CONFIG_RANGE, ERBP_OFF_N_HIDDEN);
    /* NetConfig.from_words: every unused slot is 0 */
#define ERBP_SLOTS(name, off, slots, lo, hi, kind) \
    if ((slots) > 1) { \
        const int32_t *v = (const int32_t *)&cfg->name; \
        for (s = used_slots(kind, slots, nh); s < (uint32_t)(slots); s++) \
            if (v[s] != 0) \
                FAIL(ERBP_E_CONFIG_SLOT, (uint32_t)(off) + s); \
    }
    ERBP_CONFIG_FIELDS(ERBP_SLOTS)
#undef ERBP_SLOTS
    /* NetConfig.validate: every used value within its field's range, fields in order */
#define ERBP_RANGE(name, off, slots, lo, hi, kind) \
    { \
        const int32_t *v = (const int32_t *)&cfg->name; \
        uint32_t used = used_slots(kind, slots, nh); \
        for (s = 0; s < used; s++) \
            if (v[s] < (lo) || v[s] > (hi)) \
                FAIL(ERBP_E_CONFIG_RANGE, (uint32_t)(off) + s); \
    }
    ERBP_CONFIG_FIELDS(ERBP_RANGE)
#undef ERBP_RANGE
    smax = erbp__smax(cfg);
    wmax = erbp__wmax(cfg);
    if (cfg->threshold > smax)
        FAIL(ERBP_E_CONFIG_THRESHOLD, ERBP_OFF_THRESHOLD);
    if (cfg->err_label_w > cfg->err_threshold)
        FAIL(ERBP_E_CONFIG_ERR_W, ERBP_OFF_ERR_LABEL_W);
    if (cfg->err_pred_w > cfg->err_threshold)
        FAIL(ERBP_E_CONFIG_ERR_W, ERBP_OFF_ERR_PRED_W);
    if (cfg->burn_in > cfg->ticks_train)
        FAIL(ERBP_E_CONFIG_BURN_IN, ERBP_OFF_BURN_IN);
    if (2 * cfg->n_out * cfg->g_amp > 32767) /* <= 2 * 64 * 32767 after the range checks */
        FAIL(ERBP_E_CONFIG_G_AMP, ERBP_OFF_G_AMP);
    n_layers = (uint32_t)nh + 1u;
    for (l = 0; l < n_layers; l++) {
        int32_t n_pre = l == 0 ? cfg->n_in : cfg->hidden_size[l - 1];
        /* n_pre * 2^(wb-1) * 2^ws <= 2^30  <=>  n_pre <= 2^e with e = 31 - wb - ws (if e >= 0) */
        int32_t e = 31 - cfg->weight_bits - cfg->w_shift[l];
        if (cfg->gate_lo[l] >= cfg->gate_hi[l])
            FAIL(ERBP_E_CONFIG_GATE, ERBP_OFF_GATE_LO + l);
        if (cfg->init_amp[l] > wmax)
            FAIL(ERBP_E_CONFIG_INIT_AMP, ERBP_OFF_INIT_AMP + l);
        if (e < 0 || (uint32_t)n_pre > (1u << (uint32_t)e))
            FAIL(ERBP_E_CONFIG_GAIN, ERBP_OFF_W_SHIFT + l);
    }
    return ERBP_OK;
}

#undef FAIL

/* ---- memory layout --------------------------------------------------------------------------- */

static uint32_t align_up(uint32_t x)
{
    return (x + (ERBP_ARENA_ALIGN - 1u)) & ~(ERBP_ARENA_ALIGN - 1u);
}

/* Reserve `bytes` at *off (aligned); return the pointer (NULL when only measuring, or for an
 * array a read-only network does not have: 0 bytes). */
static void *take(uint8_t *arena, uint32_t *off, uint32_t bytes)
{
    void *p = arena && bytes ? (void *)(arena + *off) : (void *)0;
    *off = align_up(*off + bytes);
    return p;
}

/* Does some layer blank synapses out in inference (p_infer < ERBP_P_ONE)? */
static int blanks_in_inference(const erbp_config_t *cfg)
{
    uint32_t l;
    for (l = 0; l <= (uint32_t)cfg->n_hidden; l++)
        if (cfg->p_infer[l] < ERBP_P_ONE)
            return 1;
    return 0;
}

uint32_t erbp__layout(const erbp_config_t *cfg, erbp_net_t *net, uint8_t *arena, int rom)
{
    uint32_t off = 0, l, h, p, n_layers = (uint32_t)cfg->n_hidden + 1u;
    uint32_t size[ERBP_MAX_LAYERS + 1], max_post = 0, n_in = (uint32_t)cfg->n_in;
    uint32_t n_out = (uint32_t)cfg->n_out, wb = erbp__wbytes(cfg), all = rom ? 0u : 1u;
    uint8_t *a = net ? arena : (uint8_t *)0;
    void *ptr;

    size[0] = n_in;
    for (h = 0; h < (uint32_t)cfg->n_hidden; h++)
        size[h + 1] = (uint32_t)cfg->hidden_size[h];
    size[n_layers] = n_out;
    if (net) {
        net->n_layers = net->n_pops = n_layers;
        for (l = 0; l <= ERBP_MAX_LAYERS; l++)
            net->size[l] = l <= n_layers ? size[l] : 0u;
    }
    for (l = 0; l < n_layers; l++) {
        ptr = take(a, &off, all * size[l] * size[l + 1] * wb);
        if (net)
            net->w[l] = ptr;
        if (size[l + 1] > max_post)
            max_post = size[l + 1];
    }
    for (h = 0; h < (uint32_t)cfg->n_hidden; h++) {
        ptr = take(a, &off, all * n_out * size[h + 1] * 2u);
        if (net)
            net->g[h] = (int16_t *)ptr;
    }
    for (p = 0; p < n_layers; p++) {
        uint32_t n = size[p + 1], np = erbp__pad(n);
        erbp_pop_t tmp, *q = net ? &net->pop[p] : &tmp;
        q->n = n;
        q->I = (int16_t *)take(a, &off, 2u * np);
        q->V = (int16_t *)take(a, &off, 2u * np);
        q->U = (int16_t *)take(a, &off, 2u * np);
        q->dw = (int16_t *)take(a, &off, all * 2u * np);
        q->acc = (int32_t *)take(a, &off, 4u * np);
        q->count = (uint16_t *)take(a, &off, 2u * np);
        q->list = (uint16_t *)take(a, &off, 2u * n);
        q->ref = (uint8_t *)take(a, &off, np);
        q->spk = (uint8_t *)take(a, &off, np);
    }
    {
        uint8_t *px = (uint8_t *)take(a, &off, all * n_in);
        uint8_t *in_ref = (uint8_t *)take(a, &off, n_in);
        uint8_t *in_spk = (uint8_t *)take(a, &off, n_in);
        uint16_t *in_nz = (uint16_t *)take(a, &off, all * 2u * erbp__pad(n_in));
        uint16_t *in_list = (uint16_t *)take(a, &off, 2u * n_in);
        uint16_t *in_thr = (uint16_t *)take(a, &off, all * 2u * erbp__pad(n_in));
        uint8_t *in_hit = (uint8_t *)take(a, &off, all * erbp__pad(n_in));
        int16_t *ep = (int16_t *)take(a, &off, 2u * n_out);
        int16_t *en = (int16_t *)take(a, &off, 2u * n_out);
        uint8_t *ep_spk = (uint8_t *)take(a, &off, n_out);
        uint8_t *en_spk = (uint8_t *)take(a, &off, n_out);
        int32_t *R = (int32_t *)take(a, &off, 4u * n_out);
        /* a read-only network only infers: a mask only if inference blanks synapses out */
        uint32_t m = all || blanks_in_inference(cfg) ? 1u : 0u;
        int16_t *mask = (int16_t *)take(a, &off, m * 2u * ((max_post + 3u) & ~3u));
        if (net) {
            net->pixels = px;
            net->in_ref = in_ref;
            net->in_spk = in_spk;
            net->in_nz = in_nz;
            net->in_list = in_list;
            net->in_thr = in_thr;
            net->in_hit = in_hit;
            net->ep = ep;
            net->en = en;
            net->ep_spk = ep_spk;
            net->en_spk = en_spk;
            net->R = R;
            net->mask = mask;
        }
    }
    return off;
}

size_t erbp_net_required_bytes(const erbp_config_t *cfg)
{
    if (erbp_config_check(cfg, 0) != ERBP_OK)
        return 0;
    return (size_t)erbp__layout(cfg, 0, 0, 0);
}

size_t erbp_net_state_required_bytes(const erbp_config_t *cfg)
{
    if (erbp_config_check(cfg, 0) != ERBP_OK)
        return 0;
    return (size_t)erbp__layout(cfg, 0, 0, 1);
}
