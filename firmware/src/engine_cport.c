/* fw_engine.h over cport's public API (cport/include/erbp.h): an upload goes through the
 * incremental loader (erbp_loader_*) straight into the network's arena, a pull through
 * erbp_net_save_range, the state image through erbp_read_var_range. Nothing here reaches into
 * erbp_net_t: the firmware judges a model file exactly as erbp_model_check does.
 *
 * With FW_ROM_MODEL (the header `erbp export --format c --name fw_model` wrote) the model is
 * const data in flash, read in place by erbp_net_init_rom at boot; RAM holds only its state. */
#include "fw_engine.h"

#include "erbp.h"

static erbp_net_t net;

#ifdef FW_ROM_MODEL
#include FW_ROM_MODEL

static uint32_t state[(FW_MODEL_STATE_BYTES + 3u) / 4u];

int fw_engine_boot(void)
{
    return erbp_net_init_rom(&net, fw_model_file, FW_MODEL_FILE_BYTES, state, sizeof state) !=
           ERBP_OK;
}

int fw_engine_read_only(void)
{
    return 1;
}
#else
static erbp_loader_t loader;

int fw_engine_boot(void)
{
    return 1;
}

int fw_engine_read_only(void)
{
    return 0;
}
#endif

/* The shortest model file: the header and the CRC. */
#define MIN_MODEL_BYTES (ERBP_FILE_HEADER_BYTES + 4u)

static int refuse(FwRefusal *r, erbp_status_t st)
{
    r->detail = (uint32_t)(-(int32_t)st);
    if (st == ERBP_E_SIZE) {
        r->kind = FW_ENGINE_NO_MEMORY;
        r->why = "network needs more memory than this board has";
    } else {
        r->kind = FW_ENGINE_REFUSED;
        r->why = erbp_status_str(st);
    }
    return 1;
}

uint32_t fw_engine_semantics(void)
{
    return ERBP_SEMANTICS_VERSION;
}

uint32_t fw_engine_max_model_bytes(size_t arena_bytes)
{
    /* the header and configuration, the arrays (no larger than in the arena), padding, CRC */
    return (uint32_t)arena_bytes + ERBP_FILE_HEADER_BYTES + 4u * ERBP_CONFIG_WORDS + 8u;
}

#ifdef FW_ROM_MODEL
/* no uploads (modelio.c refuses them before they reach the engine) */
int fw_engine_load_size_check(size_t arena_bytes, uint32_t total, FwRefusal *r)
{
    (void)arena_bytes;
    (void)total;
    return refuse(r, ERBP_E_STATE);
}

int fw_engine_load_begin(void *arena, size_t arena_bytes, FwRefusal *r)
{
    (void)arena;
    (void)arena_bytes;
    return refuse(r, ERBP_E_STATE);
}

int fw_engine_load_feed(const uint8_t *data, uint32_t n, FwRefusal *r)
{
    (void)data;
    (void)n;
    return refuse(r, ERBP_E_STATE);
}

uint32_t fw_engine_load_declared_bytes(void)
{
    return 0;
}

int fw_engine_load_end(FwRefusal *r)
{
    return refuse(r, ERBP_E_STATE);
}
#else
int fw_engine_load_size_check(size_t arena_bytes, uint32_t total, FwRefusal *r)
{
    if (total < MIN_MODEL_BYTES) {
        refuse(r, ERBP_E_FILE_TRUNCATED);
        r->why = "model file shorter than its header";
        return 1;
    }
    if (total > fw_engine_max_model_bytes(arena_bytes)) {
        refuse(r, ERBP_E_SIZE);
        r->why = "model file larger than this board's memory";
        return 1;
    }
    return 0;
}

int fw_engine_load_begin(void *arena, size_t arena_bytes, FwRefusal *r)
{
    erbp_status_t st = erbp_loader_begin(&loader, &net, arena, arena_bytes);
    return st == ERBP_OK ? 0 : refuse(r, st);
}

int fw_engine_load_feed(const uint8_t *data, uint32_t n, FwRefusal *r)
{
    erbp_status_t st;
    erbp_loader_feed(&loader, data, n);
    /* not only feed's errors: a rule that erbp_model_check checks after the CRC refuses the file
     * as well (for the rule, or for the CRC if that fails too): stop the upload at once */
    st = erbp_loader_status(&loader);
    return st == ERBP_OK ? 0 : refuse(r, st);
}

uint32_t fw_engine_load_declared_bytes(void)
{
    return erbp_loader_file_bytes(&loader);
}

int fw_engine_load_end(FwRefusal *r)
{
    erbp_status_t st = erbp_loader_end(&loader);
    return st == ERBP_OK ? 0 : refuse(r, st);
}
#endif

uint32_t fw_engine_n_in(void)
{
    const erbp_config_t *c = erbp_net_config(&net);
    return c ? (uint32_t)c->n_in : 0u;
}

uint32_t fw_engine_n_out(void)
{
    const erbp_config_t *c = erbp_net_config(&net);
    return c ? (uint32_t)c->n_out : 0u;
}

uint32_t fw_engine_arena_used(void)
{
    const erbp_config_t *c = erbp_net_config(&net);
    return (uint32_t)(erbp_net_is_rom(&net) ? erbp_net_state_required_bytes(c)
                                            : erbp_net_required_bytes(c));
}

uint32_t fw_engine_samples_seen(void)
{
    return erbp_net_samples_seen(&net);
}

uint32_t fw_engine_model_bytes(void)
{
    return (uint32_t)erbp_model_bytes(erbp_net_config(&net));
}

void fw_engine_model_read(uint32_t offset, uint8_t *out, uint32_t n)
{
    erbp_net_save_range(&net, offset, out, n);
}

int fw_engine_run(const uint8_t *pixels, uint32_t index, uint32_t train, uint32_t label,
                  FwResult *r, uint32_t *counts, uint32_t n_counts, const char **why)
{
    erbp_result_t res;
    erbp_status_t st;
    if (train && erbp_net_is_rom(&net)) {
        *why = "this board's model is in flash (read-only): inference only";
        return 1;
    }
    st = erbp_run_sample(&net, pixels, fw_engine_n_in(), train ? (int32_t)label : -1,
                         train ? ERBP_TRAIN : ERBP_INFER, index, &res);
    if (st == ERBP_OK) {
        st = erbp_output_counts(&net, counts, n_counts);
    }
    if (st != ERBP_OK) {
        *why = erbp_status_str(st);
        return 1;
    }
    r->prediction = (uint32_t)res.prediction;
    r->events = res.events;
    r->ticks = res.ticks;
    r->samples_seen = erbp_net_samples_seen(&net);
    return 0;
}

/* State image: for each population p: I, V, U, ref, spk, count; then in_ref, in_spk, ep, en,
 * ep_spk, en_spk, R (the golden-vector snapshot keys after W and G). Variable k of the image: its id,
 * index and size; 0 past the last (or without a live network). */
static int image_var(uint32_t k, erbp_var_t *var, uint32_t *index, uint32_t *n)
{
    static const erbp_var_t pop_vars[6] = {ERBP_VAR_I, ERBP_VAR_V, ERBP_VAR_U, ERBP_VAR_REF,
                                           ERBP_VAR_SPK, ERBP_VAR_COUNT};
    static const erbp_var_t tail_vars[7] = {ERBP_VAR_IN_REF, ERBP_VAR_IN_SPK, ERBP_VAR_EP,
                                            ERBP_VAR_EN,     ERBP_VAR_EP_SPK, ERBP_VAR_EN_SPK,
                                            ERBP_VAR_R};
    const erbp_config_t *c = erbp_net_config(&net);
    uint32_t pops = c ? (uint32_t)c->n_hidden + 1u : 0u;
    if (k < 6u * pops) {
        *var = pop_vars[k % 6u];
        *index = k / 6u;
    } else if (k - 6u * pops < 7u) {
        *var = tail_vars[k - 6u * pops];
        *index = 0;
    } else {
        return 0;
    }
    return erbp_var_size(&net, *var, *index, n) == ERBP_OK;
}

uint32_t fw_engine_state_bytes(void)
{
    erbp_var_t var;
    uint32_t k, index, n, bytes = 0;
    for (k = 0; image_var(k, &var, &index, &n); k++) {
        bytes += 4u * n;
    }
    return bytes;
}

void fw_engine_state_read(uint32_t offset, uint8_t *out, uint32_t n)
{
    erbp_var_t var;
    uint32_t k, index, size, start = 0;
    for (k = 0; n > 0 && image_var(k, &var, &index, &size); k++) {
        uint32_t end = start + 4u * size;
        for (; n > 0 && offset < end; offset++, n--) {
            uint32_t i = offset - start;
            int32_t v = 0;
            erbp_read_var_range(&net, var, index, i / 4u, &v, 1);
            *out++ = (uint8_t)((uint32_t)v >> (8u * (i % 4u)));
        }
        start = end;
    }
}
