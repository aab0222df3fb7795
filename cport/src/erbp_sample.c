/* erbp_sample.c - samples (docs/semantics.md section 7): begin, tick, run one or many, and what a
 * sample produced (prediction, output counts, events). One tick's phases are in erbp_kernels.c. */
#include "erbp_internal.h"

/* ---- a sample -------------------------------------------------------------------------------- */

static erbp_status_t check_sample(const erbp_net_t *net, const uint8_t *pixels, size_t n_pixels,
                                  int32_t label, erbp_mode_t mode)
{
    if (!net || !pixels)
        return ERBP_E_NULL;
    if (!erbp__ready(net))
        return ERBP_E_STATE;
    if (n_pixels != (size_t)net->size[0])
        return ERBP_E_SIZE;
    if ((mode != ERBP_TRAIN && mode != ERBP_INFER) || (mode == ERBP_TRAIN && net->rom))
        return ERBP_E_ARG; /* a read-only network does not learn */
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
    if (net->rom) {
        net->px = pixels; /* read in place; input spikes by the literal rule (full layout) */
    } else {
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
    erbp__reset_state(net);
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

/* ---- ticks and results ----------------------------------------------------------------------- */

erbp_status_t erbp_tick(erbp_net_t *net)
{
    if (!net)
        return ERBP_E_NULL;
    if (!erbp__ready(net) || !net->begun || net->tick >= ERBP_MAX_TICKS)
        return ERBP_E_STATE;
    erbp__tick(net);
    return ERBP_OK;
}

int32_t erbp_prediction(const erbp_net_t *net)
{
    uint32_t k, n, best = 0;
    int32_t top;
    if (!erbp__ready(net))
        return -1;
    n = net->pop[net->n_pops - 1u].n;
    top = erbp__score(net, 0);
    for (k = 1; k < n; k++) {
        int32_t s = erbp__score(net, k);
        if (s > top) {
            top = s;
            best = k;
        }
    }
    return (int32_t)best;
}

int32_t erbp_exit_reached(const erbp_net_t *net)
{
    uint32_t k, n;
    int32_t top, second, s;
    if (!erbp__ready(net) || !net->begun || net->tick == 0 || net->mode != ERBP_INFER ||
        net->cfg.exit_margin == 0)
        return 0;
    n = net->pop[net->n_pops - 1u].n; /* n_out >= 2 */
    top = erbp__score(net, 0);
    second = erbp__score(net, 1);
    if (second > top) {
        top = second;
        second = erbp__score(net, 0);
    }
    for (k = 2; k < n; k++) {
        s = erbp__score(net, k);
        if (s > top) {
            second = top;
            top = s;
        } else if (s > second) {
            second = s; /* a second leader equal to the top: a lead of 0 */
        }
    }
    /* 0 <= top - second < 2^32: exact in u32 */
    return (uint32_t)top - (uint32_t)second >= (uint32_t)net->cfg.exit_margin;
}

uint64_t erbp_events(const erbp_net_t *net)
{
    return erbp__ready(net) ? net->events : 0u;
}

uint32_t erbp_tick_count(const erbp_net_t *net)
{
    return erbp__ready(net) ? net->tick : 0u;
}

erbp_status_t erbp_output_counts(const erbp_net_t *net, uint32_t *out, size_t n)
{
    const erbp_pop_t *o;
    uint32_t k;
    if (!net || !out)
        return ERBP_E_NULL;
    if (!erbp__ready(net))
        return ERBP_E_STATE;
    o = &net->pop[net->n_pops - 1u];
    if (n < (size_t)o->n)
        return ERBP_E_SIZE;
    for (k = 0; k < o->n; k++)
        out[k] = o->count[k];
    return ERBP_OK;
}

/* ---- whole samples --------------------------------------------------------------------------- */

/* run one sample after its arguments were checked */
static void run(erbp_net_t *net, const uint8_t *pixels, int32_t label, erbp_mode_t mode,
                uint32_t sample)
{
    uint32_t t;
    begin(net, pixels, label, mode, sample);
    for (t = 0; t < net->ticks; t++) {
        erbp__tick(net);
        if (erbp_exit_reached(net))
            break;
    }
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
        res->ticks = net->tick;
    }
    return ERBP_OK;
}

erbp_status_t erbp_run_samples(erbp_net_t *net, const uint8_t *pixels, uint32_t n_samples,
                               size_t stride, const int32_t *labels, erbp_mode_t mode,
                               uint32_t first_index, int32_t *predictions, uint32_t *counts,
                               uint64_t *events, uint32_t *ticks)
{
    uint32_t s, k;
    if (!net || (!pixels && n_samples > 0))
        return ERBP_E_NULL;
    if (!erbp__ready(net))
        return ERBP_E_STATE;
    if ((mode != ERBP_TRAIN && mode != ERBP_INFER) || (mode == ERBP_TRAIN && net->rom))
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
        if (ticks)
            ticks[s] = net->tick;
    }
    return ERBP_OK;
}
