/* fw_engine.h over cport (cport/include/erbp.h). The streaming loader writes weights straight
 * into the network's arrays (net.w[l], net.g[h]: the model-file layout on a little-endian core),
 * so no copy of the model file is ever held; the state image is read from the same arrays. */
#include "fw_engine.h"

#include "erbp.h"

static erbp_net_t net;

uint32_t fw_engine_config_words(void)
{
    return ERBP_CONFIG_WORDS;
}

uint32_t fw_engine_semantics(void)
{
    return ERBP_SEMANTICS_VERSION;
}

int fw_engine_check(const int32_t *words, FwShape *shape, size_t *required, const char **why)
{
    erbp_config_t cfg;
    erbp_status_t st = erbp_config_from_words(&cfg, words, ERBP_CONFIG_WORDS);
    uint32_t l;
    if (st == ERBP_OK) {
        st = erbp_config_check(&cfg, NULL);
    }
    if (st != ERBP_OK) {
        *why = erbp_status_str(st);
        return 1;
    }
    shape->n_layers = (uint32_t)cfg.n_hidden + 1u;
    shape->sizes[0] = (uint32_t)cfg.n_in;
    for (l = 0; l < (uint32_t)cfg.n_hidden; l++) {
        shape->sizes[l + 1u] = (uint32_t)cfg.hidden_size[l];
    }
    shape->sizes[shape->n_layers] = (uint32_t)cfg.n_out;
    shape->weight_bytes = cfg.weight_bits <= 8 ? 1u : 2u;
    shape->wmax = (int32_t)((1u << (uint32_t)(cfg.weight_bits - 1)) - 1u);
    shape->wmin = -shape->wmax - 1;
    *required = erbp_net_required_bytes(&cfg);
    return 0;
}

int fw_engine_create(void *arena, size_t arena_bytes, const int32_t *words, uint32_t seed,
                     uint32_t samples_seen, const char **why)
{
    erbp_config_t cfg;
    erbp_status_t st = erbp_config_from_words(&cfg, words, ERBP_CONFIG_WORDS);
    if (st == ERBP_OK) {
        st = erbp_net_init(&net, arena, arena_bytes, &cfg, seed);
    }
    if (st == ERBP_OK) {
        st = erbp_net_set_samples_seen(&net, samples_seen);
    }
    if (st != ERBP_OK) {
        *why = erbp_status_str(st);
        return 1;
    }
    return 0;
}

uint8_t *fw_engine_weights(uint32_t layer)
{
    return (uint8_t *)net.w[layer];
}

uint8_t *fw_engine_feedback(uint32_t hidden)
{
    return (uint8_t *)net.g[hidden];
}

uint32_t fw_engine_samples_seen(void)
{
    return erbp_net_samples_seen(&net);
}

int fw_engine_run(const uint8_t *pixels, uint32_t index, uint32_t train, uint32_t label,
                  FwResult *r, uint32_t *counts, const char **why)
{
    erbp_result_t res;
    erbp_status_t st = erbp_run_sample(&net, pixels, net.size[0], train ? (int32_t)label : -1,
                                       train ? ERBP_TRAIN : ERBP_INFER, index, &res);
    if (st == ERBP_OK) {
        st = erbp_output_counts(&net, counts, 64u);
    }
    if (st != ERBP_OK) {
        *why = erbp_status_str(st);
        return 1;
    }
    r->prediction = (uint32_t)res.prediction;
    r->events = res.events;
    r->samples_seen = erbp_net_samples_seen(&net);
    return 0;
}

/* State image: for each population p: I, V, U, ref, spk, count; then in_ref, in_spk, ep, en,
 * ep_spk, en_spk (the golden-vector snapshot keys after W and G). */
uint32_t fw_engine_state_words(void)
{
    uint32_t p, n = 0;
    for (p = 0; p < net.n_pops; p++) {
        n += 6u * net.pop[p].n;
    }
    return n + 2u * net.size[0] + 4u * net.size[net.n_layers];
}

int32_t fw_engine_state_word(uint32_t i)
{
    uint32_t p, n, k;
    for (p = 0; p < net.n_pops; p++) {
        const erbp_pop_t *pp = &net.pop[p];
        n = pp->n;
        if (i < 6u * n) {
            k = i % n;
            switch (i / n) {
            case 0: return pp->I[k];
            case 1: return pp->V[k];
            case 2: return pp->U[k];
            case 3: return pp->ref[k];
            case 4: return pp->spk[k];
            default: return pp->count[k];
            }
        }
        i -= 6u * n;
    }
    n = net.size[0];
    if (i < 2u * n) {
        return i < n ? net.in_ref[i] : net.in_spk[i - n];
    }
    i -= 2u * n;
    n = net.size[net.n_layers];
    if (i < 4u * n) {
        k = i % n;
        switch (i / n) {
        case 0: return net.ep[k];
        case 1: return net.en[k];
        case 2: return net.ep_spk[k];
        default: return net.en_spk[k];
        }
    }
    return 0;
}
