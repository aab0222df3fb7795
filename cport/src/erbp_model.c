/* erbp_model.c - the model file (docs/semantics.md section 9): CRC-32, check, load, save.
 *
 * Little-endian throughout, read and written byte by byte (no assumption about the host's byte
 * order or alignment). The checks run in the order of the reference's modelfile.loads, so both
 * refuse a bad file for the same reason. */
#include "erbp_internal.h"

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), four bits at a time from a 16-entry
 * table (64 bytes of constants). erbp_crc32(0, "123456789", 9) == 0xCBF43926. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
};

uint32_t erbp_crc32(uint32_t crc, const uint8_t *data, size_t n)
{
    size_t i;
    if (!data)
        return crc;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
    }
    return ~crc;
}

/* ---- little-endian helpers ------------------------------------------------------------------- */

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t get_u16(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

/* two's-complement reinterpretation without implementation-defined conversions */
static int32_t to_i32(uint32_t u)
{
    return u <= 0x7fffffffu ? (int32_t)u : -(int32_t)(0xffffffffu - u) - 1;
}

static int32_t to_i16(uint32_t u)
{
    return u <= 0x7fffu ? (int32_t)u : (int32_t)u - 65536;
}

static int32_t to_i8(uint32_t u)
{
    return u <= 0x7fu ? (int32_t)u : (int32_t)u - 256;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 255u);
    p[1] = (uint8_t)((v >> 8) & 255u);
    p[2] = (uint8_t)((v >> 16) & 255u);
    p[3] = (uint8_t)(v >> 24);
}

static void put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 255u);
    p[1] = (uint8_t)((v >> 8) & 255u);
}

/* ---- sizes ----------------------------------------------------------------------------------- */

/* bytes of the arrays W_0..W_H, G_0..G_{H-1} of a valid configuration */
static uint32_t array_bytes(const erbp_config_t *c)
{
    uint32_t l, n = 0, n_layers = (uint32_t)c->n_hidden + 1u, pre = (uint32_t)c->n_in;
    for (l = 0; l < n_layers; l++) {
        uint32_t post = l + 1u < n_layers ? (uint32_t)c->hidden_size[l] : (uint32_t)c->n_out;
        n += pre * post * erbp__wbytes(c);
        if (l + 1u < n_layers)
            n += (uint32_t)c->n_out * post * 2u;
        pre = post;
    }
    return n;
}

#define BODY_START (ERBP_FILE_HEADER_BYTES + 4u * ERBP_CONFIG_WORDS)

static uint32_t file_bytes(const erbp_config_t *c)
{
    uint32_t n = BODY_START + array_bytes(c);
    return ((n + 3u) & ~3u) + 4u;
}

size_t erbp_model_bytes(const erbp_config_t *cfg)
{
    if (erbp_config_check(cfg, 0) != ERBP_OK)
        return 0;
    return (size_t)file_bytes(cfg);
}

/* ---- check ----------------------------------------------------------------------------------- */

erbp_status_t erbp_model_check(const uint8_t *data, size_t n, erbp_config_t *cfg,
                               uint32_t *seed, uint32_t *samples_seen)
{
    erbp_config_t c;
    int32_t words[ERBP_CONFIG_WORDS];
    uint32_t size, i, l, off, end, n_layers;
    int32_t wmax;
    erbp_status_t st;
    if (!data)
        return ERBP_E_NULL;
    if (n < ERBP_FILE_HEADER_BYTES + 4u)
        return ERBP_E_FILE_TRUNCATED;
    if (data[0] != (uint8_t)'E' || data[1] != (uint8_t)'R' || data[2] != (uint8_t)'B' ||
        data[3] != (uint8_t)'P')
        return ERBP_E_FILE_MAGIC;
    if (get_u16(data + 4) != ERBP_FORMAT_VERSION)
        return ERBP_E_FILE_FORMAT;
    if (get_u16(data + 6) != ERBP_SEMANTICS_VERSION)
        return ERBP_E_FILE_SEMANTICS;
    size = get_u32(data + 8);
    if (n < (size_t)size)
        return ERBP_E_FILE_TRUNCATED;
    if (n > (size_t)size)
        return ERBP_E_FILE_TRAILING;
    /* now size == n >= header + 4 */
    if (erbp_crc32(0, data, size - 4u) != get_u32(data + size - 4u))
        return ERBP_E_FILE_CRC;
    if (get_u32(data + 20) != ERBP_CONFIG_WORDS)
        return ERBP_E_FILE_WORDS;
    if (size < BODY_START + 4u)
        return ERBP_E_FILE_SIZE;
    for (i = 0; i < ERBP_CONFIG_WORDS; i++)
        words[i] = to_i32(get_u32(data + ERBP_FILE_HEADER_BYTES + 4u * i));
    erbp_config_from_words(&c, words, ERBP_CONFIG_WORDS);
    st = erbp_config_check(&c, 0);
    if (st != ERBP_OK)
        return st;
    if (size != file_bytes(&c))
        return ERBP_E_FILE_SIZE;
    /* weights within their width (G is int16 by storage) */
    wmax = erbp__wmax(&c);
    off = BODY_START;
    n_layers = (uint32_t)c.n_hidden + 1u;
    for (l = 0; l < n_layers; l++) {
        uint32_t pre = l == 0 ? (uint32_t)c.n_in : (uint32_t)c.hidden_size[l - 1];
        uint32_t post = l + 1u < n_layers ? (uint32_t)c.hidden_size[l] : (uint32_t)c.n_out;
        uint32_t cnt = pre * post;
        for (i = 0; i < cnt; i++) {
            int32_t w = erbp__wbytes(&c) == 1 ? to_i8(data[off + i])
                                               : to_i16(get_u16(data + off + 2u * i));
            if (w < -wmax - 1 || w > wmax)
                return ERBP_E_FILE_WEIGHT;
        }
        off += cnt * erbp__wbytes(&c);
    }
    end = BODY_START + array_bytes(&c);
    for (i = end; i < size - 4u; i++)
        if (data[i] != 0)
            return ERBP_E_FILE_PADDING;
    if (cfg)
        erbp__config_copy(cfg, &c);
    if (seed)
        *seed = get_u32(data + 12);
    if (samples_seen)
        *samples_seen = get_u32(data + 16);
    return ERBP_OK;
}

/* ---- load and save --------------------------------------------------------------------------- */

erbp_status_t erbp_net_load(erbp_net_t *net, void *arena, size_t arena_bytes,
                            const uint8_t *data, size_t n)
{
    erbp_config_t c;
    uint32_t seed, seen, l, h, i, off = BODY_START;
    erbp_status_t st;
    if (!net)
        return ERBP_E_NULL;
    net->ready = 0;
    st = erbp_model_check(data, n, &c, &seed, &seen);
    if (st != ERBP_OK)
        return st;
    st = erbp__net_layout(net, arena, arena_bytes, &c, seed);
    if (st != ERBP_OK)
        return st;
    net->samples_seen = seen;
    for (l = 0; l < net->n_layers; l++) {
        uint32_t cnt = net->size[l] * net->size[l + 1];
        if (erbp__wbytes(&c) == 1) {
            int8_t *w = (int8_t *)net->w[l];
            for (i = 0; i < cnt; i++)
                w[i] = (int8_t)to_i8(data[off + i]);
            off += cnt;
        } else {
            int16_t *w = (int16_t *)net->w[l];
            for (i = 0; i < cnt; i++)
                w[i] = (int16_t)to_i16(get_u16(data + off + 2u * i));
            off += 2u * cnt;
        }
    }
    for (h = 0; h + 1u < net->n_layers; h++) {
        uint32_t cnt = (uint32_t)c.n_out * net->size[h + 1];
        for (i = 0; i < cnt; i++)
            net->g[h][i] = (int16_t)to_i16(get_u16(data + off + 2u * i));
        off += 2u * cnt;
    }
    return ERBP_OK;
}

erbp_status_t erbp_net_save(const erbp_net_t *net, uint8_t *out, size_t cap, size_t *written)
{
    int32_t words[ERBP_CONFIG_WORDS];
    uint32_t size, i, l, h, off = BODY_START;
    if (!net || !out)
        return ERBP_E_NULL;
    if (net->ready != ERBP_READY)
        return ERBP_E_STATE;
    size = file_bytes(&net->cfg);
    if (cap < (size_t)size)
        return ERBP_E_SIZE;
    out[0] = (uint8_t)'E';
    out[1] = (uint8_t)'R';
    out[2] = (uint8_t)'B';
    out[3] = (uint8_t)'P';
    put_u16(out + 4, ERBP_FORMAT_VERSION);
    put_u16(out + 6, ERBP_SEMANTICS_VERSION);
    put_u32(out + 8, size);
    put_u32(out + 12, net->seed);
    put_u32(out + 16, net->samples_seen);
    put_u32(out + 20, ERBP_CONFIG_WORDS);
    erbp_config_to_words(&net->cfg, words, ERBP_CONFIG_WORDS);
    for (i = 0; i < ERBP_CONFIG_WORDS; i++)
        put_u32(out + ERBP_FILE_HEADER_BYTES + 4u * i, (uint32_t)words[i]);
    for (l = 0; l < net->n_layers; l++) {
        uint32_t cnt = net->size[l] * net->size[l + 1];
        if (erbp__wbytes(&net->cfg) == 1) {
            const int8_t *w = (const int8_t *)net->w[l];
            for (i = 0; i < cnt; i++)
                out[off + i] = (uint8_t)((uint32_t)w[i] & 255u);
            off += cnt;
        } else {
            const int16_t *w = (const int16_t *)net->w[l];
            for (i = 0; i < cnt; i++)
                put_u16(out + off + 2u * i, (uint32_t)w[i] & 0xffffu);
            off += 2u * cnt;
        }
    }
    for (h = 0; h + 1u < net->n_layers; h++) {
        uint32_t cnt = (uint32_t)net->cfg.n_out * net->size[h + 1];
        for (i = 0; i < cnt; i++)
            put_u16(out + off + 2u * i, (uint32_t)net->g[h][i] & 0xffffu);
        off += 2u * cnt;
    }
    for (; off < size - 4u; off++)
        out[off] = 0;
    put_u32(out + size - 4u, erbp_crc32(0, out, size - 4u));
    if (written)
        *written = (size_t)size;
    return ERBP_OK;
}
