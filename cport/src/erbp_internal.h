/* erbp_internal.h - shared between the cport source files; not part of the public API. */
#ifndef ERBP_INTERNAL_H
#define ERBP_INTERNAL_H

#include "erbp.h"
#include "erbp_intmath.h"

/* Static assertion usable in C99 (negative array size) and C11 (_Static_assert). */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define ERBP_STATIC_ASSERT(cond, name) _Static_assert(cond, #name)
#else
#define ERBP_STATIC_ASSERT(cond, name) typedef char erbp_static_assert_##name[(cond) ? 1 : -1]
#endif

/* A function kept out of its callers (GCC, clang): a large local array then stays off the stack of
 * the paths that do not call it. No effect on any result. */
#if defined(__GNUC__)
#define ERBP_NOINLINE __attribute__((noinline))
#else
#define ERBP_NOINLINE
#endif

/* Marks an initialised erbp_net_t (net->ready). */
#define ERBP_READY 0x45524250u

/* The most ticks one sample may run (keeps spike counts in uint16). */
#define ERBP_MAX_TICKS 65535u

/* Neuron arrays are padded to a multiple of ERBP_BLOCK elements, so that on cores with SIMD the
 * per-neuron loops run whole blocks with no scalar tail (the padding lanes hold a phantom neuron
 * whose state follows the same rules, is never read and never changes a result). */
#define ERBP_BLOCK 16u

static inline uint32_t erbp__pad(uint32_t n)
{
    return (n + (ERBP_BLOCK - 1u)) & ~(ERBP_BLOCK - 1u);
}

/* ERBP_PAD_LOOPS = 1: per-neuron loops run over erbp__pad(n) lanes in blocks (vector cores);
 * 0: over exactly n (scalar cores, less work). Either gives the same numbers. */
#ifndef ERBP_PAD_LOOPS
#if defined(__SSE2__) || defined(__ARM_NEON) || defined(__ARM_FEATURE_MVE) || \
    defined(__riscv_vector) || defined(__wasm_simd128__) || defined(__ALTIVEC__)
#define ERBP_PAD_LOOPS 1
#else
#define ERBP_PAD_LOOPS 0
#endif
#endif

/* Lay the arrays of a (valid) configuration out from byte offset 0, in this order, each array
 * starting at a multiple of ERBP_ARENA_ALIGN: W_l (l = 0..H), G_h (h = 0..H-1); for each
 * population p = 0..H of n neurons, with P = erbp__pad(n): I, V, U, dw (int16, P), acc (int32, P),
 * count (uint16, P), list (uint16, n), ref, spk (uint8, P); input, with Q = erbp__pad(n_in):
 * pixels, in_ref, in_spk (uint8, n_in), in_nz (uint16, Q), in_list (uint16, n_in), in_thr
 * (uint16, Q), in_hit (uint8, Q); ep, en (int16), ep_spk, en_spk
 * (uint8); R (int32, n_out); mask (int16, max n_post rounded up to 4). Returns the total bytes;
 * when net is not NULL also sets its sizes and pointers into arena. With rom (a read-only
 * network's state arena) W, G, dw, pixels, in_nz, in_thr and in_hit take no space and their
 * pointers are NULL, and so is mask unless some layer blanks synapses out in inference
 * (p_infer < ERBP_P_ONE: a read-only network only infers). */
uint32_t erbp__layout(const erbp_config_t *cfg, erbp_net_t *net, uint8_t *arena, int rom);

/* Bytes per stored weight. */
static inline uint32_t erbp__wbytes(const erbp_config_t *cfg)
{
    return cfg->weight_bits <= 8 ? 1u : 2u;
}

static inline int32_t erbp__wmax(const erbp_config_t *cfg)
{
    return (int32_t)((1u << (uint32_t)(cfg->weight_bits - 1)) - 1u);
}

static inline int32_t erbp__smax(const erbp_config_t *cfg)
{
    return (int32_t)((1u << (uint32_t)(cfg->state_bits - 1)) - 1u);
}

/* *dst = *src, word by word (no memcpy). */
void erbp__config_copy(erbp_config_t *dst, const erbp_config_t *src);

/* Word i (0 <= i < ERBP_CONFIG_WORDS, model-file order) of a configuration: read, write. */
int32_t erbp__config_get(const erbp_config_t *cfg, uint32_t i);
void erbp__config_set(erbp_config_t *cfg, uint32_t i, int32_t v);

/* Check cfg, lay the network out in the arena, reset its state (weights not set): the common part
 * of erbp_net_init, erbp_net_load and (rom: a state arena) erbp_net_init_rom. */
erbp_status_t erbp__net_layout(erbp_net_t *net, void *arena, size_t arena_bytes,
                               const erbp_config_t *cfg, uint32_t seed, int rom);

/* Whether net is an initialised network (NULL is not). */
static inline int erbp__ready(const erbp_net_t *net)
{
    return net && net->ready == ERBP_READY;
}

/* A little-endian int16 from two bytes (no alignment needed). */
static inline int32_t erbp__le16(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | ((uint32_t)p[1] << 8);
    return u <= 0x7fffu ? (int32_t)u : (int32_t)u - 65536;
}

/* ---- erbp_model.c ---------------------------------------------------------------------------- */

/* Where body array k (W_0 .. W_H, then G_0 .. G_{H-1}) starts in a read-only network's file. */
const uint8_t *erbp__rom_array(const erbp_net_t *net, uint32_t k);

/* ---- erbp_state.c: the instance and its state ------------------------------------------------ */

/* Generate W and G from the seed (semantics section 6). net laid out, cfg valid. */
void erbp__init_weights(erbp_net_t *net);

/* Zero every dynamic state (semantics section 4), padding lanes included; the input refractory
 * counters start PACKED (below). */
void erbp__reset_state(erbp_net_t *net);

/* The input refractory counters have two layouts in net->in_ref. PACKED (in_dirty = 0, the
 * state every sample starts in): in_ref[s] is the counter of the s-th nonzero pixel in_nz[s] for
 * s < n_nz and every other byte is 0; a zero pixel never spikes, so its counter is 0. Phase 2 then
 * updates contiguous bytes, which vectorises, instead of gathering and scattering through in_nz.
 * FULL (in_dirty = 1, after a write of IN_REF or IN_SPK from outside): in_ref[j] is the counter
 * of input j. Reads see the full layout either way; both changes of layout are exact moves (in_nz
 * is strictly increasing and in_nz[s] >= s). Phase 2 has three forms of the refractory rule, all
 * tested: on packed counters a vector form (ERBP_PAD_LOOPS = 1) and a scalar one (0), and the
 * literal rule on full counters (any build, after a state write).
 *
 * Full to packed; the caller knows every zero pixel has a zero counter. */
void erbp__in_ref_pack(erbp_net_t *net);

/* The score of output k (docs/semantics.md section 7.2): its spike count (readout 0) or its
 * readout sum R (readout 1). */
static inline int32_t erbp__score(const erbp_net_t *net, uint32_t k)
{
    return net->cfg.readout ? net->R[k] : (int32_t)net->pop[net->n_pops - 1u].count[k];
}

/* ---- erbp_kernels.c: one tick ---------------------------------------------------------------- */

/* Run tick net->tick of the sample begun (semantics section 7, phases 1-5) and advance it. */
void erbp__tick(erbp_net_t *net);

#endif /* ERBP_INTERNAL_H */
