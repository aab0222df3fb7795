/* erbp_kernels.c - one tick (docs/semantics.md section 7): the row kernels and per-neuron passes
 * and the five phases that call them.
 *
 * Speed notes. Weights are stored row-major per presynaptic neuron, so one pre spike touches one
 * contiguous row. Work is event driven: phase 3 walks only the rows of neurons that spiked, and
 * input generation walks only nonzero pixels (a zero pixel never spikes, and with a counter-based
 * random function skipping its draw changes nothing). The eRBP update is fused into delivery: the
 * update factor dw_i is computed once per post neuron and tick (phase 1, lazily, only for layers
 * that receive a spike: it reads I and U at the tick's start, which phases 2-3 do not change), and
 * each spiking row does w = SAT(w + dw) then acc += w in one pass. The row kernels below are
 * separate plain loops per (storage width, learning, blank-out) so compilers auto-vectorise
 * them; phase 3 picks one per layer and tick, and its loop over the spiking rows calls that one
 * directly (no choice per row; a direct call keeps each kernel inlinable and its AVX2 clone). The
 * kernels stay in this file beside their callers so that compilers may inline them. */
#include "erbp_internal.h"

ERBP_STATIC_ASSERT(ERBP_N_OUT_MAX % ERBP_BLOCK == 0, n_out_max_is_whole_blocks);

/* ---- loops and clones ------------------------------------------------------------------------ */

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

/* ---- row kernels (phase 3) ------------------------------------------------------------------- */

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
#define ERBP_SAT16(x) ((int32_t)__builtin_arm_ssat((x), 16))
#else
#define ERBP_SAT8(x) erbp_sat((x), -128, 127)
#define ERBP_SAT16(x) erbp_sat((x), -32768, 32767)
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

/* ---- Helium kernels (Armv8.1-M with MVE: Cortex-M55/M85) ------------------------------------- */

/* With the M-profile Vector Extension's integer instructions (__ARM_FEATURE_MVE bit 0; GCC defines
 * it for a Cortex-M55 whose float ABI leaves it the FPU registers, softfp or hard, and the FPU
 * must be enabled), a layer with int8 weights and no blank-out in this tick (the p of the
 * sample's mode is 256: p_infer inferring, p_transmit training) runs its rows four synapses per
 * vector: VLDRB.S32 widens four weights into the int32 lanes that VADD adds to acc; in training,
 * w = SAT(w + dw, wmin, wmax) is VLDRB.S32, VLDRH.S32 (four int16 factors), VADD, VMAX, VMIN on
 * int32 lanes and VSTRB.32 narrows the result back into the weights (any wmax: the rule itself,
 * in int32). The last n % 4 synapses of a row run scalar. Inner loops: 5 instructions per 4
 * synapses inferring, 10 learning. Same numbers as the portable kernels, with no bound on the
 * rows of a tick (the accumulators are int32). They replace the DSP kernels; ERBP_NO_DSP builds
 * without either (the portable kernels), -mfloat-abi=soft without Helium (the DSP kernels). */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && defined(__GNUC__) && \
    !defined(ERBP_NO_DSP)
#define ERBP_MVE_KERNELS 1
#include <arm_mve.h>

static void row_sum_mve(const int8_t *restrict w, int32_t *restrict acc, uint32_t n)
{
    uint32_t i, n4 = n & ~3u;
    for (i = 0; i < n4; i += 4)
        vstrwq_s32(acc + i, vaddq_s32(vldrwq_s32(acc + i), vldrbq_s32(w + i)));
    for (; i < n; i++)
        acc[i] += w[i];
}

static void row_learn_mve(int8_t *restrict w, const int16_t *restrict dw, int32_t *restrict acc,
                          uint32_t n, int32_t wmin, int32_t wmax)
{
    const int32x4_t lo = vdupq_n_s32(wmin), hi = vdupq_n_s32(wmax);
    uint32_t i, n4 = n & ~3u;
    for (i = 0; i < n4; i += 4) {
        int32x4_t x = vaddq_s32(vldrbq_s32(w + i), vldrhq_s32(dw + i));
        x = vminq_s32(vmaxq_s32(x, lo), hi);
        vstrbq_s32(w + i, x);
        vstrwq_s32(acc + i, vaddq_s32(vldrwq_s32(acc + i), x));
    }
    for (; i < n; i++) {
        int32_t x = erbp_sat(w[i] + dw[i], wmin, wmax);
        w[i] = (int8_t)x;
        acc[i] += x;
    }
}
#else
#define ERBP_MVE_KERNELS 0
#endif

/* ---- DSP kernels (Armv7E-M: Cortex-M4/M7; Armv8-M with the DSP extension: Cortex-M33/M55) ---- */

/* With the DSP instructions (__ARM_FEATURE_DSP), a layer with int8 weights and no blank-out runs
 * its rows four synapses per instruction pair: SXTAB16 adds bytes 0 and 2 (then, rotated, 1 and 3)
 * of a word of four weights, sign-extended, to two 16-bit accumulators; in training, QADD8 is
 * w = SAT(w + dw, -128, 127) of four 8-bit weights at once (exactly the rule when weight_bits =
 * 8, dw being in [-128, 127]). The 16-bit accumulators are exact, not wrapped: a tick adds at most
 * 256 rows of values in [-128, 127] to a lane (|sum| <= 32768), and a layer-tick with more rows
 * uses the portable kernels. The accumulators of neurons 4g .. 4g+3 live in acc[2g] (4g, 4g+2)
 * and acc[2g+1] (4g+1, 4g+3) and are spread back into int32 acc[] at the end (the last n % 4
 * neurons accumulate directly in int32). Same numbers as the portable kernels. */
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !ERBP_PAD_LOOPS && !defined(ERBP_NO_DSP) && \
    !ERBP_MVE_KERNELS
#define ERBP_DSP_KERNELS 1
#define ERBP_DSP_MAX_ROWS 256u

/* the ACLE intrinsics of <arm_acle.h> (__sxtab16, __qadd8), as the builtins they wrap, and
 * SXTAB16 with its operand rotated by 8 (bytes 1 and 3) as a CMSIS-style inline instruction */
static inline int32_t dsp_sxtab16(int32_t acc, uint32_t x)
{
    return __builtin_arm_sxtab16(acc, (int32_t)x);
}

static inline int32_t dsp_sxtab16_ror8(int32_t acc, uint32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

static inline uint32_t dsp_qadd8(uint32_t a, uint32_t b)
{
    return (uint32_t)__builtin_arm_qadd8((int32_t)a, (int32_t)b);
}

static inline uint32_t load4(const void *p) /* any alignment (LDR on v7E-M/v8-M) */
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

static void row_sum_dsp(const int8_t *restrict w, int32_t *restrict acc, uint32_t n)
{
    const int8_t *const end = w + (n & ~3u);
    int32_t *a = acc;
    uint32_t i;
    for (; w < end; w += 4, a += 2) {
        uint32_t x = load4(w);
        int32_t a0 = a[0], a1 = a[1];
        a[0] = dsp_sxtab16(a0, x);
        a[1] = dsp_sxtab16_ror8(a1, x);
    }
    for (i = n & ~3u; i < n; i++, w++)
        acc[i] += *w;
}

/* dw8: dw of neurons 0 .. 4 * (n / 4) - 1 as int8 bytes; dw: the int16 factors (the tail's) */
static void row_learn_dsp(int8_t *restrict w, const uint8_t *restrict dw8,
                          const int16_t *restrict dw, int32_t *restrict acc, uint32_t n)
{
    int8_t *const end = w + (n & ~3u);
    int32_t *a = acc;
    uint32_t i;
    for (; w < end; w += 4, dw8 += 4, a += 2) {
        uint32_t x = dsp_qadd8(load4(w), load4(dw8));
        int32_t a0 = a[0], a1 = a[1];
        __builtin_memcpy(w, &x, 4);
        a[0] = dsp_sxtab16(a0, x);
        a[1] = dsp_sxtab16_ror8(a1, x);
    }
    for (i = n & ~3u; i < n; i++, w++) {
        int32_t x = ERBP_SAT8(*w + dw[i]);
        *w = (int8_t)x;
        acc[i] += x;
    }
}

static int32_t lane(uint32_t v) /* an int16 lane (in the low 16 bits of v) as int32 */
{
    v &= 0xffffu;
    return v <= 0x7fffu ? (int32_t)v : (int32_t)v - 65536;
}

/* The 16-bit accumulators back into int32 acc[0 .. 4 * (n / 4)), in place (descending: group g
 * reads words 2g, 2g + 1 before writing 4g .. 4g + 3). */
static void acc_spread(int32_t *acc, uint32_t n)
{
    uint32_t g = n >> 2;
    while (g-- > 0) {
        uint32_t a = (uint32_t)acc[2u * g], b = (uint32_t)acc[2u * g + 1u];
        acc[4u * g + 3u] = lane(b >> 16);
        acc[4u * g + 2u] = lane(a >> 16);
        acc[4u * g + 1u] = lane(b);
        acc[4u * g] = lane(a);
    }
}
#else
#define ERBP_DSP_KERNELS 0
#endif

/* ---- phase 1: update factors ----------------------------------------------------------------- */

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

/* ---- phase 2: input spikes ------------------------------------------------------------------- */

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
    const uint8_t *px = net->px;
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
        /* scalar cores: one pass, no draw for a pixel in its refractory period (the rule never
         * uses it), and no store where the counter stays 0 */
        for (s = 0; s < n_nz; s++) {
            uint32_t r0 = in_ref[s];
            if (r0 > 0) {
                in_ref[s] = (uint8_t)(r0 - 1u);
            } else if ((erbp_draw(key, nz[s]) >> 16) < thr[s]) {
                in_ref[s] = (uint8_t)refr;
                list[n++] = nz[s];
            }
        }
#endif
        for (s = 0; s < n; s++)
            in_spk[list[s]] = 1;
    } else {
        /* the literal rule for every input neuron: after a state write from outside, and always
         * on a read-only network (no in_nz); a zero pixel never spikes, so its draw is skipped */
        uint32_t dirty = 0;
        for (s = 0; s < net->size[0]; s++) {
            if (in_ref[s] > 0) {
                in_ref[s]--;
                in_spk[s] = 0;
            } else if (px[s] != 0 && (erbp_draw(key, s) >> 16) < px[s] * gain) {
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
        if (!dirty && !net->rom) {
            erbp__in_ref_pack(net);
            net->in_dirty = 0;
        }
    }
    net->n_in_spk = n;
    net->input_spikes += n;
}

/* ---- phase 3: delivery (and the weight update) ----------------------------------------------- */

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

/* The row kernel of a layer, as bits: what it does depends on the configuration (weight storage,
 * blank-out, the 8-bit fast path of scalar cores) and on whether this tick updates the layer's
 * weights, never on the row. */
enum {
    ROW_MASK = 1,  /* blank-out: p < ERBP_P_ONE (p_transmit training, p_infer inferring) */
    ROW_LEARN = 2, /* training past burn_in with some dw != 0 */
    ROW_S16 = 4,   /* int16 weight storage (weight_bits > 8) */
    ROW_FULL8 = 8  /* weight_bits = 8 on a scalar core: SAT(w + dw) is one 8-bit saturation */
};

static uint32_t row_kernel(const erbp_config_t *c, uint32_t p, int32_t learn)
{
    uint32_t k = (p < (uint32_t)ERBP_P_ONE ? ROW_MASK : 0u) | (learn ? ROW_LEARN : 0u);
    if (erbp__wbytes(c) == 2)
        return k | ROW_S16;
    if (ERBP_FULL8_KERNELS && learn && erbp__wmax(c) == 127)
        return k | ROW_FULL8;
    return k;
}

/* The loop over the spiking rows (list[0..n_list)) of an int8 (T = int8_t) or int16 weight matrix
 * w, with one kernel: CALL, on `row`, after the row's blank-out mask when MASKED (a constant). */
#define ERBP_ROWS(T, MASKED, CALL) \
    do { \
        T *const w_ = (T *)net->w[l]; \
        for (s = 0; s < n_list; s++) { \
            T *row = w_ + (uint32_t)list[s] * n_post; \
            if (MASKED) \
                blank_mask(net->mask, key_b, (uint32_t)list[s] * words, words, p); \
            CALL; \
        } \
    } while (0)

/* Phase 3 for layer l (with phase 1 of that layer when learning). Synapses transmit with
 * probability p / 256: p_transmit in train mode, p_infer in infer mode. */
static void deliver(erbp_net_t *net, uint32_t l, int32_t learn, uint32_t t)
{
    const erbp_config_t *c = &net->cfg;
    erbp_pop_t *post = &net->pop[l];
    uint32_t n_post = post->n, n_list, s, i;
    uint32_t p = (uint32_t)(net->mode == ERBP_TRAIN ? c->p_transmit[l] : c->p_infer[l]);
    uint32_t words = (n_post + 3u) >> 2, key_b = 0;
    const uint16_t *list;
    int32_t *acc = post->acc;
    const int16_t *dw = post->dw, *m = net->mask;
    int32_t wmax = erbp__wmax(c), wmin = -wmax - 1;
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
    if (p < (uint32_t)ERBP_P_ONE)
        key_b = erbp_absorb(net->key_blank[l], t);
#if ERBP_MVE_KERNELS
    if (erbp__wbytes(c) == 1u && p >= (uint32_t)ERBP_P_ONE) {
        int8_t *const w8 = (int8_t *)net->w[l];
        for (s = 0; s < n_list; s++) {
            int8_t *row = w8 + (uint32_t)list[s] * n_post;
            if (learn)
                row_learn_mve(row, dw, acc, n_post, wmin, wmax);
            else
                row_sum_mve(row, acc, n_post);
        }
        return;
    }
#endif
#if ERBP_DSP_KERNELS
    if (erbp__wbytes(c) == 1u && p >= (uint32_t)ERBP_P_ONE && n_list <= ERBP_DSP_MAX_ROWS &&
        (!learn || wmax == 127)) {
        int8_t *const w8 = (int8_t *)net->w[l];
        if (learn) {
            uint8_t *dw8 = (uint8_t *)post->dw; /* packed in place: byte i <= int16 i's bytes */
            for (i = 0; i < (n_post & ~3u); i++)
                dw8[i] = (uint8_t)(dw[i] & 255);
            for (s = 0; s < n_list; s++)
                row_learn_dsp(w8 + (uint32_t)list[s] * n_post, dw8, dw, acc, n_post);
        } else {
            for (s = 0; s < n_list; s++)
                row_sum_dsp(w8 + (uint32_t)list[s] * n_post, acc, n_post);
        }
        acc_spread(acc, n_post);
        return;
    }
#endif
    switch (row_kernel(c, p, learn)) {
    case 0:
        ERBP_ROWS(int8_t, 0, row_sum_s8(row, acc, n_post));
        break;
    case ROW_MASK:
        ERBP_ROWS(int8_t, 1, row_sum_mask_s8(row, m, acc, n_post));
        break;
    case ROW_LEARN:
        ERBP_ROWS(int8_t, 0, row_learn_s8(row, dw, acc, n_post, (int16_t)wmin, (int16_t)wmax));
        break;
    case ROW_LEARN | ROW_MASK:
        ERBP_ROWS(int8_t, 1,
                  row_learn_mask_s8(row, dw, m, acc, n_post, (int16_t)wmin, (int16_t)wmax));
        break;
#if ERBP_FULL8_KERNELS
    case ROW_FULL8 | ROW_LEARN:
        ERBP_ROWS(int8_t, 0, row_learn_full8(row, dw, acc, n_post));
        break;
    case ROW_FULL8 | ROW_LEARN | ROW_MASK:
        ERBP_ROWS(int8_t, 1, row_learn_mask_full8(row, dw, m, acc, n_post));
        break;
#endif
    case ROW_S16:
        ERBP_ROWS(int16_t, 0, row_sum_s16(row, acc, n_post));
        break;
    case ROW_S16 | ROW_MASK:
        ERBP_ROWS(int16_t, 1, row_sum_mask_s16(row, m, acc, n_post));
        break;
    case ROW_S16 | ROW_LEARN:
        ERBP_ROWS(int16_t, 0, row_learn_s16(row, dw, acc, n_post, wmin, wmax));
        break;
    default: /* ROW_S16 | ROW_LEARN | ROW_MASK */
        ERBP_ROWS(int16_t, 1, row_learn_mask_s16(row, dw, m, acc, n_post, wmin, wmax));
        break;
    }
}

#undef ERBP_ROWS

/* ---- phase 4: neurons ------------------------------------------------------------------------ */

/* Phase 4 for population p, as one branch-free pass over the neurons (it vectorises; a noise
 * draw computed for a refractory neuron is simply not used, as in the rule). */
typedef struct neuron_params {
    uint32_t syn, mem, i2v, np, key;
    int32_t gain, smin, smax, thr, nw, refr;
} neuron_params_t;

#if ERBP_PAD_LOOPS
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

#else
/* Scalar cores: phase 4 as a loop that branches where the rule does (a refractory neuron skips its
 * noise draw, which the rule never uses; DRAW is counter-based, so no other draw moves), stores
 * what changes, and lists a spiking neuron as it fires. ASR is the compiler's arithmetic shift
 * where GCC and clang define it so (they sign-extend; checked below), else erbp_asr; DECAY(x, k)
 * = x - ASR(x + (x >= 0 ? 2^k - 1 : 0), k), the same function as erbp_decay. With state_bits 16
 * the saturation is SAT16 (one SSAT on Arm). */
#if defined(__GNUC__)
ERBP_STATIC_ASSERT((-1 >> 1) == -1 && (-5 >> 1) == -3, signed_shift_is_arithmetic);
static inline int32_t asr_s(int32_t x, uint32_t k)
{
    return x >> k;
}
#else
#define asr_s erbp_asr
#endif

static inline int32_t decay_s(int32_t x, uint32_t k, int32_t m) /* m = 2^k - 1 */
{
    return x - asr_s(x + (m & ~asr_s(x, 31)), k);
}

#define ERBP_NEURON_SCALAR(SAT, NOISY) \
    for (i = 0; i < n; i++) { \
        int32_t cur = SAT(decay_s(I[i], syn, msyn) + acc[i] * gain), r0 = ref[i], v; \
        I[i] = (int16_t)cur; \
        if (r0 != 0) { \
            ref[i] = (uint8_t)(r0 - 1); \
            V[i] = 0; \
            continue; \
        } \
        v = decay_s(V[i], mem, mmem) + asr_s(cur, i2v); \
        if (NOISY && (erbp_draw(key, i) >> 16) < np) \
            v += nw; \
        v = SAT(v); \
        if (v >= thr) { \
            V[i] = 0; \
            ref[i] = (uint8_t)refr; \
            list[n_spk++] = (uint16_t)i; \
        } else { \
            V[i] = (int16_t)v; \
        } \
    }

#define ERBP_SAT_STATE(x) erbp_sat((x), smin, smax)

/* Lists the neurons that fire in list[] and returns their number; spk and count are the caller's
 * (spk[j] = 1 exactly for the j listed: erbp__reset_state and a write of SPK keep the list). */
static uint32_t neuron_pass_scalar(int16_t *restrict I, int16_t *restrict V,
                                   const int32_t *restrict acc, uint8_t *restrict ref,
                                   uint16_t *restrict list, uint32_t n, const neuron_params_t *prm)
{
    const uint32_t syn = prm->syn, mem = prm->mem, i2v = prm->i2v, np = prm->np, key = prm->key;
    const int32_t gain = prm->gain, smin = prm->smin, smax = prm->smax, thr = prm->thr;
    const int32_t nw = prm->nw, refr = prm->refr;
    const int32_t msyn = (int32_t)((1u << syn) - 1u), mmem = (int32_t)((1u << mem) - 1u);
    uint32_t i, n_spk = 0;
    if (smax == 32767) {
        if (np)
            ERBP_NEURON_SCALAR(ERBP_SAT16, 1)
        else
            ERBP_NEURON_SCALAR(ERBP_SAT16, 0)
    } else {
        if (np)
            ERBP_NEURON_SCALAR(ERBP_SAT_STATE, 1)
        else
            ERBP_NEURON_SCALAR(ERBP_SAT_STATE, 0)
    }
    return n_spk;
}

#undef ERBP_SAT_STATE
#undef ERBP_NEURON_SCALAR
#endif

static void neurons(erbp_net_t *net, uint32_t p, uint32_t t)
{
    const erbp_config_t *c = &net->cfg;
    erbp_pop_t *q = &net->pop[p];
    uint32_t n_spk = 0;
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
#if ERBP_PAD_LOOPS
    uint32_t j;
    if (neuron_pass(q->I, q->V, q->acc, q->ref, q->spk, q->count, q->n, &prm))
        for (j = 0; j < q->n; j++) { /* branch-free list of the spiking neurons */
            q->list[n_spk] = (uint16_t)j;
            n_spk += q->spk[j];
        }
#else
    uint32_t s;
    for (s = 0; s < q->n_spk; s++) /* last tick's spikes */
        q->spk[q->list[s]] = 0;
    n_spk = neuron_pass_scalar(q->I, q->V, q->acc, q->ref, q->list, q->n, &prm);
    for (s = 0; s < n_spk; s++) {
        uint32_t j = q->list[s];
        q->spk[j] = 1;
        q->count[j] = (uint16_t)(q->count[j] + 1u);
    }
#endif
    q->n_spk = n_spk;
    if (p + 1u < net->n_pops)
        net->hidden_spikes += n_spk;
}

/* Phase 4, the readout sums: R_k += I_k of every output neuron, after its I update. |R| stays
 * within 32768 * 65535 (section 1.6), so R + I fits int32; the sum is taken in u32 all the same,
 * so that a readout sum written from outside can never make it overflow. */
static void readout(erbp_net_t *net)
{
    const erbp_pop_t *out = &net->pop[net->n_pops - 1u];
    int32_t *R = net->R;
    uint32_t k;
    for (k = 0; k < out->n; k++)
        R[k] = (int32_t)((uint32_t)R[k] + (uint32_t)(int32_t)out->I[k]);
}

/* ---- phase 5: errors and feedback ------------------------------------------------------------ */

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

/* Phase 5 (training): label, error neurons, feedback into the dendrites. Not inlined: its 256
 * bytes of e[] stay off the stack of inference (the whole of it on a 16 KiB board). */
ERBP_NOINLINE static void errors_feedback(erbp_net_t *net)
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

/* ---- one tick -------------------------------------------------------------------------------- */

void erbp__tick(erbp_net_t *net)
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
    readout(net);
    if (train)                            /* phase 5 */
        errors_feedback(net);
    net->tick = t + 1u;
    if (++net->label_phase >= (uint32_t)c->label_period)
        net->label_phase = 0;
}
