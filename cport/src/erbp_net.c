/* erbp_net.c - the network: initialisation, one tick (docs/semantics.md section 7), samples,
 * state access.
 *
 * Speed notes. Weights are stored row-major per presynaptic neuron, so one pre spike touches one
 * contiguous row. Work is event driven: phase 3 walks only the rows of neurons that spiked, and
 * input generation walks only nonzero pixels (a zero pixel never spikes, and with a counter-based
 * random function skipping its draw changes nothing). The eRBP update is fused into delivery: the
 * update factor dw_i is computed once per post neuron and tick (phase 1, lazily, only for layers
 * that receive a spike: it reads I and U at the tick's start, which phases 2-3 do not change), and
 * each spiking row does w = SAT(w + dw) then acc += w in one pass. The row kernels below are
 * separate plain loops per (storage width, learning, blank-out) so compilers auto-vectorise
 * them. */
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

static void zero_u8(uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = 0;
}

static int is_ready(const erbp_net_t *net)
{
    return net && net->ready == ERBP_READY;
}

ERBP_STATIC_ASSERT(ERBP_N_OUT_MAX % ERBP_BLOCK == 0, n_out_max_is_whole_blocks);

/* ---- row kernels (phase 3) ------------------------------------------------------------------- */

/* Loops over i = 0..n-1 run as blocks of ERBP_BLOCK with a constant inner trip count, then a
 * tail: a constant-count inner loop is what compilers vectorise even under their cheapest cost
 * models (gcc -O2), and on cores without SIMD it is the same scalar work. */
#define ERBP_BLOCKED(n, i, ...) \
    do { \
        size_t o_, k_, i; \
        for (o_ = 0; o_ + ERBP_BLOCK <= (n); o_ += ERBP_BLOCK) \
            for (k_ = 0; k_ < ERBP_BLOCK; k_++) { \
                i = o_ + k_; \
                __VA_ARGS__; \
            } \
        for (i = o_; i < (n); i++) { \
            __VA_ARGS__; \
        } \
    } while (0)

/* A per-neuron loop over arrays padded to erbp__pad(n) (see ERBP_PAD_LOOPS). */
#if ERBP_PAD_LOOPS
#define ERBP_NEURON_LOOP(n, i, ...) \
    do { \
        size_t o_, k_, i, np_ = erbp__pad(n); \
        for (o_ = 0; o_ < np_; o_ += ERBP_BLOCK) \
            for (k_ = 0; k_ < ERBP_BLOCK; k_++) { \
                i = o_ + k_; \
                __VA_ARGS__; \
            } \
    } while (0)
#else
#define ERBP_NEURON_LOOP(n, i, ...) \
    do { \
        size_t i; \
        for (i = 0; i < (n); i++) { \
            __VA_ARGS__; \
        } \
    } while (0)
#endif

/* ERBP_CLONES on a hot kernel: with ERBP_X86_CLONES defined (x86-64 host builds only), GCC/clang
 * compile it for AVX2 and for the x86-64 baseline and the loader picks one for the CPU. The
 * arithmetic is integer and exact, so every clone computes the same numbers; only the vector width
 * differs. Without it (every board, every default build) it is empty. */
#if defined(ERBP_X86_CLONES) && defined(__x86_64__) && defined(__GNUC__)
#define ERBP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ERBP_CLONES
#endif

/* T: weight storage type, S: name suffix, WIDE: a type that holds w + dw exactly. The learning
 * kernels do w = SAT(w + dw) and add the updated weight; the mask m (0 or -1 per synapse) is the
 * peRBP blank-out. */
#define ERBP_ROW_KERNELS(T, S, WIDE) \
    ERBP_CLONES \
    static void row_sum_##S(const T *restrict w, int32_t *restrict acc, uint32_t n) \
    { \
        ERBP_BLOCKED(n, i, acc[i] += w[i]); \
    } \
    ERBP_CLONES \
    static void row_sum_mask_##S(const T *restrict w, const int16_t *restrict m, \
                                 int32_t *restrict acc, uint32_t n) \
    { \
        ERBP_BLOCKED(n, i, acc[i] += w[i] & m[i]); \
    } \
    ERBP_CLONES \
    static void row_learn_##S(T *restrict w, const int16_t *restrict dw, int32_t *restrict acc, \
                              uint32_t n, WIDE lo, WIDE hi) \
    { \
        ERBP_BLOCKED(n, i, { \
            WIDE x = (WIDE)(w[i] + dw[i]); \
            x = x < lo ? lo : x; \
            x = x > hi ? hi : x; \
            w[i] = (T)x; \
            acc[i] += x; \
        }); \
    } \
    ERBP_CLONES \
    static void row_learn_mask_##S(T *restrict w, const int16_t *restrict dw, \
                                   const int16_t *restrict m, int32_t *restrict acc, uint32_t n, \
                                   WIDE lo, WIDE hi) \
    { \
        ERBP_BLOCKED(n, i, { \
            WIDE x = (WIDE)(w[i] + dw[i]); \
            x = x < lo ? lo : x; \
            x = x > hi ? hi : x; \
            w[i] = (T)x; \
            acc[i] += x & m[i]; \
        }); \
    }

/* int8 storage (weight_bits <= 8): w + dw fits int16 because dw lies in [wmin, wmax]. */
ERBP_ROW_KERNELS(int8_t, s8, int16_t)
/* int16 storage (weight_bits 9..16): w + dw needs 17 bits. */
ERBP_ROW_KERNELS(int16_t, s16, int32_t)

#undef ERBP_ROW_KERNELS

/* Scalar cores, weight_bits = 8: w = SAT(w + dw, -128, 127) is one saturation to 8 bits, which
 * Arm cores with the saturation instructions (Cortex-M3/M4/M7/M33, __ARM_FEATURE_SAT) do in one
 * SSAT. The same function as erbp_sat(x, -128, 127) everywhere else. (Vector cores keep the
 * generic kernels: their int16 lanes vectorise better.) */
#if !ERBP_PAD_LOOPS
#define ERBP_FULL8_KERNELS 1
#if defined(__ARM_FEATURE_SAT) && defined(__GNUC__)
/* the ACLE __ssat of <arm_acle.h>, without its statement expression (not ISO C) */
#define ERBP_SAT8(x) ((int32_t)__builtin_arm_ssat((x), 8))
#else
#define ERBP_SAT8(x) erbp_sat((x), -128, 127)
#endif

static void row_learn_full8(int8_t *restrict w, const int16_t *restrict dw,
                            int32_t *restrict acc, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        int32_t x = ERBP_SAT8(w[i] + dw[i]);
        w[i] = (int8_t)x;
        acc[i] += x;
    }
}

static void row_learn_mask_full8(int8_t *restrict w, const int16_t *restrict dw,
                                 const int16_t *restrict m, int32_t *restrict acc, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        int32_t x = ERBP_SAT8(w[i] + dw[i]);
        w[i] = (int8_t)x;
        acc[i] += x & m[i];
    }
}
#else
#define ERBP_FULL8_KERNELS 0
#endif

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

/* Zero every dynamic state (section 4). */
static void reset_state(erbp_net_t *net)
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
    net->n_in_spk = 0;
    net->in_dirty = 0;
    net->tick = 0;
    net->label_phase = 0;
    net->events = 0;
    net->input_spikes = 0;
    net->hidden_spikes = 0;
}

size_t erbp_net_struct_bytes(void)
{
    return sizeof(erbp_net_t);
}

erbp_status_t erbp__net_layout(erbp_net_t *net, void *arena, size_t arena_bytes,
                               const erbp_config_t *cfg, uint32_t seed)
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
    if (arena_bytes < (size_t)erbp__layout(cfg, 0, 0))
        return ERBP_E_SIZE;
    erbp__config_copy(&net->cfg, cfg);
    net->seed = seed;
    net->samples_seen = 0;
    erbp__layout(&net->cfg, net, (uint8_t *)arena);
    for (p = net->n_pops; p < ERBP_MAX_LAYERS; p++)
        net->pop[p].n = 0;
    net->begun = 0;
    net->sample = 0;
    net->label = -1;
    net->mode = ERBP_INFER;
    net->ticks = 0;
    net->n_nz = 0;
    reset_state(net);
    net->ready = ERBP_READY;
    return ERBP_OK;
}

erbp_status_t erbp_net_init(erbp_net_t *net, void *arena, size_t arena_bytes,
                            const erbp_config_t *cfg, uint32_t seed)
{
    erbp_status_t st = erbp__net_layout(net, arena, arena_bytes, cfg, seed);
    if (st == ERBP_OK)
        erbp__init_weights(net);
    return st;
}

erbp_status_t erbp_net_reset_state(erbp_net_t *net)
{
    if (!net)
        return ERBP_E_NULL;
    if (!is_ready(net))
        return ERBP_E_STATE;
    reset_state(net);
    return ERBP_OK;
}

const erbp_config_t *erbp_net_config(const erbp_net_t *net)
{
    return is_ready(net) ? &net->cfg : (const erbp_config_t *)0;
}

uint32_t erbp_net_seed(const erbp_net_t *net)
{
    return is_ready(net) ? net->seed : 0u;
}

uint32_t erbp_net_samples_seen(const erbp_net_t *net)
{
    return is_ready(net) ? net->samples_seen : 0u;
}

erbp_status_t erbp_net_set_samples_seen(erbp_net_t *net, uint32_t samples_seen)
{
    if (!net)
        return ERBP_E_NULL;
    if (!is_ready(net))
        return ERBP_E_STATE;
    net->samples_seen = samples_seen;
    return ERBP_OK;
}

/* ---- a sample -------------------------------------------------------------------------------- */

static erbp_status_t check_sample(const erbp_net_t *net, const uint8_t *pixels, size_t n_pixels,
                                  int32_t label, erbp_mode_t mode)
{
    if (!net || !pixels)
        return ERBP_E_NULL;
    if (!is_ready(net))
        return ERBP_E_STATE;
    if (n_pixels != (size_t)net->size[0])
        return ERBP_E_SIZE;
    if (mode != ERBP_TRAIN && mode != ERBP_INFER)
        return ERBP_E_ARG;
    if (mode == ERBP_TRAIN && (label < 0 || label >= net->cfg.n_out))
        return ERBP_E_LABEL;
    return ERBP_OK;
}

/* begin_sample after check_sample succeeded */
static void begin(erbp_net_t *net, const uint8_t *pixels, int32_t label, erbp_mode_t mode,
                  uint32_t sample)
{
    const erbp_config_t *c = &net->cfg;
    uint32_t j, l, n_in = net->size[0], nz = 0;
    for (j = 0; j < n_in; j++) {
        uint8_t px = pixels[j];
        net->pixels[j] = px;
        if (px != 0) {
            net->in_thr[nz] = (uint16_t)(px * (uint32_t)c->in_gain); /* <= 255 * 257 */
            net->in_nz[nz++] = (uint16_t)j;
        }
    }
    net->n_nz = c->in_gain > 0 ? nz : 0u; /* with in_gain = 0 no input ever spikes */
    for (j = net->n_nz; j < erbp__pad(net->n_nz); j++) { /* padding lanes of hit_pass */
        net->in_nz[j] = 0;
        net->in_thr[j] = 0;
    }
    net->label = mode == ERBP_TRAIN ? label : -1;
    net->mode = (int32_t)mode;
    net->sample = sample;
    net->ticks = (uint32_t)(mode == ERBP_TRAIN ? c->ticks_train : c->ticks_infer);
    net->key_input = erbp_sample_key(net->seed, erbp_stream(ERBP_STREAM_INPUT, 0), sample);
    for (l = 0; l < net->n_layers; l++) {
        net->key_noise[l] = erbp_sample_key(net->seed, erbp_stream(ERBP_STREAM_NOISE, l), sample);
        net->key_round[l] = erbp_sample_key(net->seed, erbp_stream(ERBP_STREAM_ROUND, l), sample);
        net->key_blank[l] = erbp_sample_key(net->seed, erbp_stream(ERBP_STREAM_BLANK, l), sample);
    }
    reset_state(net);
    net->begun = 1;
}

erbp_status_t erbp_begin_sample(erbp_net_t *net, const uint8_t *pixels, size_t n_pixels,
                                int32_t label, erbp_mode_t mode, uint32_t sample)
{
    erbp_status_t st = check_sample(net, pixels, n_pixels, label, mode);
    if (st != ERBP_OK)
        return st;
    begin(net, pixels, label, mode, sample);
    return ERBP_OK;
}

/* Phase 1 for layer l: dw_i = SAT(SRS(U_i * lr_mult, lr_shift, r_i)) inside the gate, else 0.
 * Returns nonzero when some dw_i != 0 (otherwise the update leaves every weight unchanged). */
ERBP_CLONES
static int32_t dw_pass(const int16_t *restrict I, const int16_t *restrict U, int16_t *restrict dw,
                       uint32_t n, uint32_t key, uint32_t k, int32_t mult, int32_t lo, int32_t hi,
                       int32_t wmax)
{
    int32_t any = 0, wmin = -wmax - 1;
    ERBP_NEURON_LOOP(n, i, {
        int32_t cur = I[i]; /* |U * mult| <= 2^15 * (2^15 - 1) */
        int32_t d = erbp_sat(erbp_srs(U[i] * mult, k, erbp_draw(key, (uint32_t)i)), wmin, wmax);
        d = lo < cur && cur < hi ? d : 0;
        dw[i] = (int16_t)d;
        any |= d;
    });
    return any;
}

static int32_t update_factors(erbp_net_t *net, uint32_t l, uint32_t t)
{
    const erbp_config_t *c = &net->cfg;
    erbp_pop_t *q = &net->pop[l];
    return dw_pass(q->I, q->U, q->dw, q->n, erbp_absorb(net->key_round[l], t),
                   (uint32_t)c->lr_shift[l], c->lr_mult[l], c->gate_lo[l], c->gate_hi[l],
                   erbp__wmax(c));
}

/* The input refractory counters have two layouts in net->in_ref. PACKED (in_dirty = 0, the
 * state every sample starts in): in_ref[s] is the counter of the s-th nonzero pixel in_nz[s] for
 * s < n_nz and every other byte is 0; a zero pixel never spikes, so its counter is 0. Phase 2 then
 * updates contiguous bytes, which vectorises, instead of gathering and scattering through in_nz.
 * FULL (in_dirty = 1, after a write of IN_REF or IN_SPK from outside): in_ref[j] is the counter
 * of input j. Reads see the full layout either way (in_ref_at); both changes of layout are exact
 * moves (in_nz is strictly increasing and in_nz[s] >= s). */
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

/* Full to packed; the caller knows every zero pixel has a zero counter. */
static void in_ref_pack(erbp_net_t *net)
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

#if ERBP_PAD_LOOPS
/* hit[s] = [ (DRAW(key, nz[s]) >> 16) < thr[s] ] for the nonzero pixels (vectorises). */
ERBP_CLONES
static void hit_pass(const uint16_t *restrict nz, const uint16_t *restrict thr,
                     uint8_t *restrict hit, uint32_t n, uint32_t key)
{
    ERBP_NEURON_LOOP(n, s, hit[s] = (uint8_t)((erbp_draw(key, nz[s]) >> 16) < thr[s]));
}

/* The refractory rule on packed counters: a hit fires only at r = 0; then r = refr, else r
 * counts down. hit[s] becomes the spike (branch-free: spikes are unpredictable; vectorises). */
ERBP_CLONES
static void refractory_pass(uint8_t *restrict r, uint8_t *restrict hit, uint32_t n, uint32_t refr)
{
    ERBP_BLOCKED(n, s, {
        uint32_t r0 = r[s], fire = hit[s] & (r0 == 0u);
        r[s] = (uint8_t)(r0 - (r0 != 0u) + (refr & (0u - fire)));
        hit[s] = (uint8_t)fire;
    });
}
#endif

/* Phase 2: input spikes. */
static void input_spikes(erbp_net_t *net, uint32_t t)
{
    const erbp_config_t *c = &net->cfg;
    uint32_t key = erbp_absorb(net->key_input, t), gain = (uint32_t)c->in_gain, s, n = 0;
    uint32_t refr = (uint32_t)c->in_refractory;
    uint8_t *in_ref = net->in_ref, *in_spk = net->in_spk;
    const uint8_t *px = net->pixels;
    if (!net->in_dirty) {
        /* packed counters; invariant: zero pixels (all pixels if in_gain = 0) have in_spk = 0 */
        const uint16_t *nz = net->in_nz, *thr = net->in_thr;
        uint16_t *list = net->in_list;
        const uint32_t n_nz = net->n_nz;
        for (s = 0; s < net->n_in_spk; s++)
            in_spk[list[s]] = 0;
#if ERBP_PAD_LOOPS
        /* vector cores: draws, refractory rule and spike list as three contiguous passes */
        uint8_t *hit = net->in_hit;
        hit_pass(nz, thr, hit, n_nz, key);
        refractory_pass(in_ref, hit, n_nz, refr);
        for (s = 0; s < n_nz; s++) { /* branch-free list of the spiking inputs */
            list[n] = nz[s];
            n += hit[s];
        }
#else
        /* scalar cores: one pass, and no draw for a pixel in its refractory period (the rule
         * never uses it) */
        for (s = 0; s < n_nz; s++) {
            uint32_t r0 = in_ref[s], fire = 0;
            if (r0 > 0) {
                in_ref[s] = (uint8_t)(r0 - 1u);
            } else {
                fire = (erbp_draw(key, nz[s]) >> 16) < thr[s];
                in_ref[s] = (uint8_t)(refr & (0u - fire));
            }
            list[n] = nz[s];
            n += fire;
        }
#endif
        for (s = 0; s < n; s++)
            in_spk[list[s]] = 1;
    } else {
        /* state written from outside: the literal rule for every input neuron */
        uint32_t dirty = 0;
        for (s = 0; s < net->size[0]; s++) {
            if (in_ref[s] > 0) {
                in_ref[s]--;
                in_spk[s] = 0;
            } else if ((erbp_draw(key, s) >> 16) < px[s] * gain) {
                in_spk[s] = 1;
                in_ref[s] = (uint8_t)refr;
                net->in_list[n++] = (uint16_t)s;
            } else {
                in_spk[s] = 0;
            }
            /* the packed path needs: in_ref = 0 wherever a pixel cannot spike */
            if (in_ref[s] != 0 && (px[s] == 0 || gain == 0))
                dirty = 1;
        }
        if (!dirty)
            in_ref_pack(net);
        net->in_dirty = dirty;
    }
    net->n_in_spk = n;
    net->input_spikes += n;
}

/* The blank-out mask of row j: m_i = -1 (transmit) or 0, from byte i & 3 of one draw per four
 * post neurons. */
static void blank_mask(int16_t *m, uint32_t key, uint32_t base, uint32_t words, uint32_t p)
{
    uint32_t k;
    for (k = 0; k < words; k++) {
        uint32_t r = erbp_draw(key, base + k);
        m[4 * k + 0] = (int16_t)((r & 255u) < p ? -1 : 0);
        m[4 * k + 1] = (int16_t)(((r >> 8) & 255u) < p ? -1 : 0);
        m[4 * k + 2] = (int16_t)(((r >> 16) & 255u) < p ? -1 : 0);
        m[4 * k + 3] = (int16_t)((r >> 24) < p ? -1 : 0);
    }
}

/* Phase 3 for layer l (with phase 1 of that layer when learning). */
static void deliver(erbp_net_t *net, uint32_t l, int32_t learn, uint32_t t)
{
    const erbp_config_t *c = &net->cfg;
    erbp_pop_t *post = &net->pop[l];
    uint32_t n_post = post->n, n_list, s, i, p = (uint32_t)c->p_transmit[l];
    uint32_t words = (n_post + 3u) >> 2, key_b = 0;
    const uint16_t *list;
    int32_t *acc = post->acc;
    int32_t wmax = erbp__wmax(c), wmin = -wmax - 1;
    int32_t blank = p < (uint32_t)ERBP_P_ONE;
    for (i = 0; i < erbp__pad(n_post); i++)
        acc[i] = 0;
    if (l == 0) {
        list = net->in_list;
        n_list = net->n_in_spk;
    } else {
        list = net->pop[l - 1].list;
        n_list = net->pop[l - 1].n_spk;
    }
    net->events += (uint64_t)(n_list * n_post);
    if (n_list == 0)
        return;
    if (learn)
        learn = update_factors(net, l, t);
    if (blank)
        key_b = erbp_absorb(net->key_blank[l], t);
    if (erbp__wbytes(c) == 1) {
        int8_t *w = (int8_t *)net->w[l];
        for (s = 0; s < n_list; s++) {
            int8_t *row = w + (uint32_t)list[s] * n_post;
            if (blank)
                blank_mask(net->mask, key_b, (uint32_t)list[s] * words, words, p);
#if ERBP_FULL8_KERNELS
            if (learn && wmax == 127 && blank)
                row_learn_mask_full8(row, post->dw, net->mask, acc, n_post);
            else if (learn && wmax == 127)
                row_learn_full8(row, post->dw, acc, n_post);
            else
#endif
            if (learn && blank)
                row_learn_mask_s8(row, post->dw, net->mask, acc, n_post, (int16_t)wmin,
                                  (int16_t)wmax);
            else if (learn)
                row_learn_s8(row, post->dw, acc, n_post, (int16_t)wmin, (int16_t)wmax);
            else if (blank)
                row_sum_mask_s8(row, net->mask, acc, n_post);
            else
                row_sum_s8(row, acc, n_post);
        }
    } else {
        int16_t *w = (int16_t *)net->w[l];
        for (s = 0; s < n_list; s++) {
            int16_t *row = w + (uint32_t)list[s] * n_post;
            if (blank)
                blank_mask(net->mask, key_b, (uint32_t)list[s] * words, words, p);
            if (learn && blank)
                row_learn_mask_s16(row, post->dw, net->mask, acc, n_post, wmin, wmax);
            else if (learn)
                row_learn_s16(row, post->dw, acc, n_post, wmin, wmax);
            else if (blank)
                row_sum_mask_s16(row, net->mask, acc, n_post);
            else
                row_sum_s16(row, acc, n_post);
        }
    }
}

/* Phase 4 for population p, as one branch-free pass over the neurons (it vectorises; a noise
 * draw computed for a refractory neuron is simply not used, as in the rule). */
typedef struct neuron_params {
    uint32_t syn, mem, i2v, np, key;
    int32_t gain, smin, smax, thr, nw, refr;
} neuron_params_t;

#define ERBP_NEURON(NOISE) \
    ERBP_NEURON_LOOP(n, i, { \
        int32_t cur = erbp_sat(erbp_decay(I[i], syn) + acc[i] * gain, smin, smax); \
        int32_t r0 = ref[i], noise = (NOISE); \
        int32_t v = erbp_sat(erbp_decay(V[i], mem) + erbp_asr(cur, i2v) + noise, smin, smax); \
        int32_t fire = r0 == 0 && v >= thr; \
        I[i] = (int16_t)cur; \
        V[i] = (int16_t)(r0 > 0 || fire ? 0 : v); \
        ref[i] = (uint8_t)(r0 > 0 ? r0 - 1 : (fire ? refr : 0)); \
        spk[i] = (uint8_t)fire; \
        count[i] = (uint16_t)(count[i] + fire); \
        fired |= fire; \
    })

/* Returns nonzero if some neuron fired. */
ERBP_CLONES
static int32_t neuron_pass(int16_t *restrict I, int16_t *restrict V, const int32_t *restrict acc,
                           uint8_t *restrict ref, uint8_t *restrict spk,
                           uint16_t *restrict count, uint32_t n, const neuron_params_t *prm)
{
    const uint32_t syn = prm->syn, mem = prm->mem, i2v = prm->i2v, np = prm->np, key = prm->key;
    const int32_t gain = prm->gain, smin = prm->smin, smax = prm->smax, thr = prm->thr;
    const int32_t nw = prm->nw, refr = prm->refr;
    int32_t fired = 0;
    if (np)
        ERBP_NEURON((erbp_draw(key, (uint32_t)i) >> 16) < np ? nw : 0);
    else
        ERBP_NEURON(0);
    return fired;
}

#undef ERBP_NEURON

static void neurons(erbp_net_t *net, uint32_t p, uint32_t t)
{
    const erbp_config_t *c = &net->cfg;
    erbp_pop_t *q = &net->pop[p];
    uint32_t j, n_spk = 0;
    neuron_params_t prm;
    prm.syn = (uint32_t)c->syn_shift;
    prm.mem = (uint32_t)c->mem_shift;
    prm.i2v = (uint32_t)c->i2v_shift;
    prm.np = (uint32_t)c->noise_prob;
    prm.key = erbp_absorb(net->key_noise[p], t);
    prm.gain = (int32_t)(1u << (uint32_t)c->w_shift[p]); /* |acc * gain| <= 2^30 (section 3) */
    prm.smax = erbp__smax(c);
    prm.smin = -prm.smax - 1;
    prm.thr = c->threshold;
    prm.nw = c->noise_weight;
    prm.refr = c->refractory;
    if (neuron_pass(q->I, q->V, q->acc, q->ref, q->spk, q->count, q->n, &prm))
        for (j = 0; j < q->n; j++) { /* branch-free list of the spiking neurons */
            q->list[n_spk] = (uint16_t)j;
            n_spk += q->spk[j];
        }
    q->n_spk = n_spk;
    if (p + 1u < net->n_pops)
        net->hidden_spikes += n_spk;
}

/* One error neuron: x += jump; spike iff x >= thr; subtractive reset, else rectified at 0. */
static int32_t error_neuron(int16_t *x, uint8_t *spk, int32_t jump, int32_t thr)
{
    int32_t v = *x + jump;
    if (v >= thr) {
        *x = (int16_t)(v - thr);
        *spk = 1;
        return 1;
    }
    *x = (int16_t)(v > 0 ? v : 0);
    *spk = 0;
    return 0;
}

/* U = SAT(DECAY(U, dend) + fb) for n neurons (vectorises). */
ERBP_CLONES
static void dendrite_pass(int16_t *restrict U, const int32_t *restrict fb, uint32_t n,
                          uint32_t dend, int32_t smax)
{
    ERBP_NEURON_LOOP(n, i,
                     U[i] = (int16_t)erbp_sat(erbp_decay(U[i], dend) + fb[i], -smax - 1, smax));
}

/* Phase 5 (training): label, error neurons, feedback into the dendrites. */
static void errors_feedback(erbp_net_t *net)
{
    const erbp_config_t *c = &net->cfg;
    erbp_pop_t *out = &net->pop[net->n_pops - 1u];
    uint32_t k, h, i, n_out = (uint32_t)c->n_out, dend = (uint32_t)c->dend_shift;
    int32_t thr = c->err_threshold, e[ERBP_N_OUT_MAX], any = 0, smax = erbp__smax(c);
    for (k = 0; k < n_out; k++) {
        int32_t jump = 0;
        if (net->label_phase == 0 && (int32_t)k == net->label)
            jump += c->err_label_w;
        if (out->spk[k])
            jump -= c->err_pred_w;
        e[k] = error_neuron(&net->ep[k], &net->ep_spk[k], jump, thr) -
               error_neuron(&net->en[k], &net->en_spk[k], -jump, thr);
        any |= e[k];
    }
    for (h = 0; h + 1u < net->n_pops; h++) {
        erbp_pop_t *q = &net->pop[h];
        int32_t *fb = q->acc; /* phase 3's sums are consumed: reuse as scratch */
        uint32_t n = q->n;
        for (i = 0; i < erbp__pad(n); i++)
            fb[i] = 0;
        if (any) {
            for (k = 0; k < n_out; k++) {
                const int16_t *g = net->g[h] + k * n;
                if (e[k] > 0)
                    for (i = 0; i < n; i++)
                        fb[i] += g[i];
                else if (e[k] < 0)
                    for (i = 0; i < n; i++)
                        fb[i] -= g[i];
            }
        }
        dendrite_pass(q->U, fb, n, dend, smax);
    }
    for (k = 0; k < erbp__pad(n_out); k++) /* <= ERBP_N_OUT_MAX: a multiple of ERBP_BLOCK */
        e[k] = k < n_out ? e[k] * c->fb_out : 0;
    dendrite_pass(out->U, e, n_out, dend, smax);
}

static void tick(erbp_net_t *net)
{
    const erbp_config_t *c = &net->cfg;
    uint32_t t = net->tick, l;
    int32_t train = net->mode == ERBP_TRAIN;
    int32_t learn = train && t >= (uint32_t)c->burn_in;
    input_spikes(net, t);                 /* phase 2 */
    for (l = 0; l < net->n_layers; l++)   /* phases 1 and 3 */
        deliver(net, l, learn, t);
    for (l = 0; l < net->n_pops; l++)     /* phase 4 */
        neurons(net, l, t);
    if (train)                            /* phase 5 */
        errors_feedback(net);
    net->tick = t + 1u;
    if (++net->label_phase >= (uint32_t)c->label_period)
        net->label_phase = 0;
}

erbp_status_t erbp_tick(erbp_net_t *net)
{
    if (!net)
        return ERBP_E_NULL;
    if (!is_ready(net) || !net->begun || net->tick >= ERBP_MAX_TICKS)
        return ERBP_E_STATE;
    tick(net);
    return ERBP_OK;
}

int32_t erbp_prediction(const erbp_net_t *net)
{
    const erbp_pop_t *out;
    uint32_t k, best = 0;
    if (!is_ready(net))
        return -1;
    out = &net->pop[net->n_pops - 1u];
    for (k = 1; k < out->n; k++)
        if (out->count[k] > out->count[best])
            best = k;
    return (int32_t)best;
}

uint64_t erbp_events(const erbp_net_t *net)
{
    return is_ready(net) ? net->events : 0u;
}

uint32_t erbp_tick_count(const erbp_net_t *net)
{
    return is_ready(net) ? net->tick : 0u;
}

erbp_status_t erbp_output_counts(const erbp_net_t *net, uint32_t *out, size_t n)
{
    const erbp_pop_t *o;
    uint32_t k;
    if (!net || !out)
        return ERBP_E_NULL;
    if (!is_ready(net))
        return ERBP_E_STATE;
    o = &net->pop[net->n_pops - 1u];
    if (n < (size_t)o->n)
        return ERBP_E_SIZE;
    for (k = 0; k < o->n; k++)
        out[k] = o->count[k];
    return ERBP_OK;
}

/* run one sample after its arguments were checked */
static void run(erbp_net_t *net, const uint8_t *pixels, int32_t label, erbp_mode_t mode,
                uint32_t sample)
{
    uint32_t t;
    begin(net, pixels, label, mode, sample);
    for (t = 0; t < net->ticks; t++)
        tick(net);
    if (mode == ERBP_TRAIN)
        net->samples_seen++;
}

erbp_status_t erbp_run_sample(erbp_net_t *net, const uint8_t *pixels, size_t n_pixels,
                              int32_t label, erbp_mode_t mode, uint32_t sample,
                              erbp_result_t *res)
{
    erbp_status_t st = check_sample(net, pixels, n_pixels, label, mode);
    if (st != ERBP_OK)
        return st;
    run(net, pixels, label, mode, sample);
    if (res) {
        res->prediction = erbp_prediction(net);
        res->input_spikes = net->input_spikes;
        res->hidden_spikes = net->hidden_spikes;
        res->events = net->events;
    }
    return ERBP_OK;
}

erbp_status_t erbp_run_samples(erbp_net_t *net, const uint8_t *pixels, uint32_t n_samples,
                               size_t stride, const int32_t *labels, erbp_mode_t mode,
                               uint32_t first_index, int32_t *predictions, uint32_t *counts,
                               uint64_t *events)
{
    uint32_t s, k;
    if (!net || (!pixels && n_samples > 0))
        return ERBP_E_NULL;
    if (!is_ready(net))
        return ERBP_E_STATE;
    if (mode != ERBP_TRAIN && mode != ERBP_INFER)
        return ERBP_E_ARG;
    if (stride < (size_t)net->size[0])
        return ERBP_E_SIZE;
    if (mode == ERBP_TRAIN) {
        if (!labels && n_samples > 0)
            return ERBP_E_NULL;
        for (s = 0; s < n_samples; s++)
            if (labels[s] < 0 || labels[s] >= net->cfg.n_out)
                return ERBP_E_LABEL;
    }
    for (s = 0; s < n_samples; s++) {
        const erbp_pop_t *out;
        run(net, pixels + (size_t)s * stride, mode == ERBP_TRAIN ? labels[s] : -1, mode,
            first_index + s);
        out = &net->pop[net->n_pops - 1u];
        if (predictions)
            predictions[s] = erbp_prediction(net);
        if (counts)
            for (k = 0; k < out->n; k++)
                counts[(size_t)s * out->n + k] = out->count[k];
        if (events)
            events[s] = net->events;
    }
    return ERBP_OK;
}

/* ---- full state ------------------------------------------------------------------------------ */

enum { T_I8, T_I16, T_U8, T_U16 };

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
        d->type = erbp__wbytes(c) == 1 ? T_I8 : T_I16;
        d->lo = -wmax - 1;
        d->hi = wmax;
        return ERBP_OK;
    case ERBP_VAR_G:
        if (index + 1u >= net->n_pops)
            return ERBP_E_ARG;
        d->p = net->g[index];
        d->n = n_out * net->size[index + 1];
        d->type = T_I16;
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
    if (!is_ready(net))
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
        default: out[i] = ((const uint8_t *)d->p)[k]; break;
        }
    }
}

/* Describe a variable of a ready network and check that [first, first + n) lies within it. */
static erbp_status_t describe_range(const erbp_net_t *net, erbp_var_t var, uint32_t index,
                                    uint32_t first, size_t n, var_desc_t *d)
{
    erbp_status_t st;
    if (!is_ready(net))
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
