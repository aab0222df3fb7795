/* freestanding_entry.c - the link check of the cross builds (cport/Makefile `cross`): an entry
 * point that reaches every public function of the library, linked with -nostdlib -nostartfiles
 * and only libgcc. The link fails if the library needs anything from a C library (memcpy,
 * memset, ...). It is never run. */
#include "erbp.h"

static erbp_net_t net;
static uint32_t arena[4096];
static uint8_t px[64];
static uint8_t file[8192];
static int32_t state[256];

int erbp_entry(void);

int erbp_entry(void)
{
    erbp_config_t cfg;
    erbp_loader_t ld;
    int32_t words[ERBP_CONFIG_WORDS], where;
    uint32_t i, n_var, seed, seen, counts[64];
    size_t n = 0;
    erbp_result_t r;
    for (i = 0; i < ERBP_CONFIG_WORDS; i++)
        words[i] = (int32_t)i;
    erbp_config_from_words(&cfg, words, ERBP_CONFIG_WORDS);
    erbp_config_to_words(&cfg, words, ERBP_CONFIG_WORDS);
    if (erbp_config_check(&cfg, &where) != ERBP_OK || erbp_net_required_bytes(&cfg) == 0)
        return 1;
    if (erbp_net_init(&net, arena, sizeof arena, &cfg, 1u) != ERBP_OK)
        return 2;
    erbp_begin_sample(&net, px, 64, 0, ERBP_TRAIN, 0);
    erbp_tick(&net);
    erbp_run_sample(&net, px, 64, 0, ERBP_TRAIN, 0, &r);
    erbp_run_samples(&net, px, 1, 64, words, ERBP_INFER, 0, words, counts, 0, &i);
    erbp_exit_reached(&net);
    erbp_var_size(&net, ERBP_VAR_V, 0, &n_var);
    erbp_read_var(&net, ERBP_VAR_V, 0, state, 256);
    erbp_write_var(&net, ERBP_VAR_V, 0, state, n_var);
    erbp_read_var_range(&net, ERBP_VAR_W, 0, 1, state, 2);
    erbp_write_var_range(&net, ERBP_VAR_W, 0, 1, state, 2);
    erbp_output_counts(&net, counts, 64);
    erbp_net_set_samples_seen(&net, erbp_net_samples_seen(&net) + erbp_net_seed(&net));
    erbp_net_reset_state(&net);
    erbp_net_save(&net, file, sizeof file, &n);
    erbp_model_check(file, n, &cfg, &seed, &seen);
    erbp_net_load(&net, arena, sizeof arena, file, erbp_model_bytes(erbp_net_config(&net)));
    erbp_net_save_range(&net, 3, file, 5);
    erbp_loader_begin(&ld, &net, arena, sizeof arena);
    erbp_loader_feed(&ld, file, n);
    if (erbp_loader_status(&ld) != ERBP_OK || erbp_loader_file_bytes(&ld) != n)
        return 3;
    erbp_loader_end(&ld);
    return (int)erbp_events(&net) + erbp_prediction(&net) + (int)erbp_tick_count(&net) +
           (int)erbp_status_str(ERBP_OK)[0] + (int)erbp_net_struct_bytes() +
           (int)erbp_crc32(0, file, n);
}
