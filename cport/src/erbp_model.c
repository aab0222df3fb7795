/* erbp_model.c - the model file (docs/semantics.md section 9): CRC-32, the incremental loader,
 * check, load, save.
 *
 * Little-endian throughout, read and written byte by byte (no assumption about the host's byte
 * order or alignment). One loader serves all: erbp_model_check is the loader without a network,
 * erbp_net_load that check followed by the loader with one, so a file fed whole or in pieces is
 * judged by the same code. The checks run in the order of the reference's modelfile.loads, so
 * both refuse a bad file for the same reason. */
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


/* ---- sizes ----------------------------------------------------------------------------------- */

#define BODY_START (ERBP_FILE_HEADER_BYTES + 4u * ERBP_CONFIG_WORDS)

/* The shortest file erbp_model_check looks into: the header and the CRC. */
#define PREFIX (ERBP_FILE_HEADER_BYTES + 4u)

/* Array k of the body of a valid configuration, in file order (W_0 .. W_H, then G_0 .. G_{H-1}):
 * *count elements of *wide bytes (1: int8, 2: int16). Returns 0 past the last array. */
static int body_array(const erbp_config_t *c, uint32_t k, uint32_t *count, uint32_t *wide)
{
    uint32_t n_layers = (uint32_t)c->n_hidden + 1u;
    if (k < n_layers) {
        uint32_t pre = k == 0 ? (uint32_t)c->n_in : (uint32_t)c->hidden_size[k - 1u];
        uint32_t post = k + 1u < n_layers ? (uint32_t)c->hidden_size[k] : (uint32_t)c->n_out;
        *count = pre * post;
        *wide = erbp__wbytes(c);
        return 1;
    }
    k -= n_layers;
    if (k < (uint32_t)c->n_hidden) {
        *count = (uint32_t)c->n_out * (uint32_t)c->hidden_size[k];
        *wide = 2u;
        return 1;
    }
    return 0;
}

/* Storage of body array k of a laid-out network. */
static void *array_ptr(const erbp_net_t *net, uint32_t k)
{
    return k < net->n_layers ? net->w[k] : (void *)net->g[k - net->n_layers];
}

const uint8_t *erbp__rom_array(const erbp_net_t *net, uint32_t k)
{
    uint32_t j, count, wide, off = BODY_START;
    for (j = 0; j < k && body_array(&net->cfg, j, &count, &wide); j++)
        off += count * wide;
    return net->rom + off;
}

static uint32_t file_bytes(const erbp_config_t *c)
{
    uint32_t k, count, wide, n = BODY_START;
    for (k = 0; body_array(c, k, &count, &wide); k++)
        n += count * wide;
    return ((n + 3u) & ~3u) + 4u;
}

size_t erbp_model_bytes(const erbp_config_t *cfg)
{
    if (erbp_config_check(cfg, 0) != ERBP_OK)
        return 0;
    return (size_t)file_bytes(cfg);
}

/* ---- the incremental loader ------------------------------------------------------------------ */

#define LOADING 0x4c4f4144u /* ld->state of a load in progress ("LOAD") */

static void loader_start(erbp_loader_t *ld, erbp_net_t *net, erbp_config_t *cfg,
                                  void *arena, size_t arena_bytes)
{
    ld->net = net;
    ld->cfg = cfg;
    ld->arena = arena;
    ld->arena_bytes = arena_bytes;
    ld->state = LOADING;
    ld->status = ERBP_OK;
    ld->held = ERBP_OK;
    ld->pos = 0;
    ld->size = 0;
    ld->crc = 0;
    ld->file_crc = 0;
    ld->word = 0;
    ld->array = 0;
    ld->at = 0;
    ld->low = 0;
}

erbp_status_t erbp_loader_begin(erbp_loader_t *ld, erbp_net_t *net, void *arena,
                                size_t arena_bytes)
{
    if (!ld)
        return ERBP_E_NULL;
    if (net)
        net->ready = 0;
    loader_start(ld, net, net ? &net->cfg : (erbp_config_t *)0, arena, arena_bytes);
    if (!net || !arena)
        ld->status = ERBP_E_NULL;
    else if (((uintptr_t)arena & 3u) != 0)
        ld->status = ERBP_E_ALIGN;
    return (erbp_status_t)ld->status;
}

/* The configuration is complete: check it and the size it implies; lay the network out. */
static void config_done(erbp_loader_t *ld)
{
    erbp_status_t st = erbp_config_check(ld->cfg, 0);
    if (st != ERBP_OK) {
        ld->held = st;
        return;
    }
    if (ld->size != file_bytes(ld->cfg)) {
        ld->held = ERBP_E_FILE_SIZE;
        return;
    }
    if (ld->net) {
        /* the configuration goes from net->cfg to itself; ERBP_E_SIZE: the arena is too small */
        st = erbp__net_layout(ld->net, ld->arena, ld->arena_bytes, ld->cfg, get_u32(ld->head + 12),
                              0);
        ld->net->ready = 0; /* until erbp_loader_end */
        ld->status = st;
    }
}

/* Body bytes p[0..n) at file offset o (BODY_START <= o < size - 4, o + n <= size - 4): range
 * checks, then into the arena. Returns how many were taken (up to the end of the array). */
static uint32_t body_bytes(erbp_loader_t *ld, const uint8_t *p, uint32_t n, uint32_t o)
{
    const erbp_config_t *c = ld->cfg;
    uint32_t count, wide, bytes, i, m;
    int32_t hi = erbp__wmax(c), lo = -hi - 1, weight = ld->array <= (uint32_t)c->n_hidden;
    void *a;
    (void)o;
    if (!body_array(c, ld->array, &count, &wide)) { /* the padding, up to the CRC */
        for (i = 0; i < n; i++)
            if (p[i] != 0)
                ld->held = ERBP_E_FILE_PADDING;
        return n;
    }
    if (!weight) {
        lo = -32768;
        hi = 32767;
    }
    bytes = count * wide;
    m = bytes - ld->at < n ? bytes - ld->at : n;
    a = ld->net ? array_ptr(ld->net, ld->array) : (void *)0;
    for (i = 0; i < m; i++, ld->at++) {
        int32_t v;
        if (wide == 1u) {
            v = to_i8(p[i]);
        } else if ((ld->at & 1u) == 0) {
            ld->low = p[i];
            continue;
        } else {
            v = to_i16((uint32_t)ld->low | ((uint32_t)p[i] << 8));
        }
        if (v < lo || v > hi) {
            ld->held = ERBP_E_FILE_WEIGHT;
            return m;
        }
        if (!a)
            continue;
        if (wide == 1u)
            ((int8_t *)a)[ld->at] = (int8_t)v;
        else
            ((int16_t *)a)[ld->at >> 1] = (int16_t)v;
    }
    if (ld->at == bytes) {
        ld->array++;
        ld->at = 0;
    }
    return m;
}

/* Bytes p[0..n) at file offset ld->pos, all within the declared size (known). */
static void consume(erbp_loader_t *ld, const uint8_t *p, uint32_t n)
{
    uint32_t crc_at = ld->size - 4u, o = ld->pos, i;
    if (o < crc_at)
        ld->crc = erbp_crc32(ld->crc, p, crc_at - o < n ? crc_at - o : n);
    for (i = o < crc_at ? crc_at - o : 0; i < n; i++)
        ld->file_crc |= (uint32_t)p[i] << (8u * (o + i - crc_at));
    ld->pos = o + n;
    /* the configuration and the body, until a rule is broken */
    while (n > 0 && ld->held == ERBP_OK && ld->status == ERBP_OK && o < crc_at) {
        uint32_t m = 1;
        if (o < ERBP_FILE_HEADER_BYTES) {
            m = ERBP_FILE_HEADER_BYTES - o < n ? ERBP_FILE_HEADER_BYTES - o : n;
        } else if (o < BODY_START) {
            uint32_t b = (o - ERBP_FILE_HEADER_BYTES) & 3u;
            ld->word |= (uint32_t)p[0] << (8u * b);
            if (b == 3u) {
                erbp__config_set(ld->cfg, (o - ERBP_FILE_HEADER_BYTES) >> 2, to_i32(ld->word));
                ld->word = 0;
                if (o + 1u == BODY_START)
                    config_done(ld);
            }
        } else {
            m = body_bytes(ld, p, crc_at - o < n ? crc_at - o : n, o);
        }
        o += m;
        p += m;
        n -= m;
    }
}

/* The first PREFIX bytes are in ld->head: the checks erbp_model_check makes before the CRC. */
static erbp_status_t prefix_done(erbp_loader_t *ld)
{
    const uint8_t *h = ld->head;
    if (h[0] != (uint8_t)'E' || h[1] != (uint8_t)'R' || h[2] != (uint8_t)'B' ||
        h[3] != (uint8_t)'P')
        return ERBP_E_FILE_MAGIC;
    if (get_u16(h + 4) != ERBP_FORMAT_VERSION)
        return ERBP_E_FILE_FORMAT;
    if (get_u16(h + 6) != ERBP_SEMANTICS_VERSION)
        return ERBP_E_FILE_SEMANTICS;
    ld->size = get_u32(h + 8);
    if (ld->size < PREFIX)
        return ERBP_E_FILE_TRAILING;
    /* what erbp_model_check checks after the CRC, in its order */
    if (get_u32(h + 20) != ERBP_CONFIG_WORDS)
        ld->held = ERBP_E_FILE_WORDS;
    else if (ld->size < BODY_START + 4u)
        ld->held = ERBP_E_FILE_SIZE;
    ld->pos = 0;
    consume(ld, h, PREFIX);
    return ERBP_OK;
}

erbp_status_t erbp_loader_feed(erbp_loader_t *ld, const uint8_t *data, size_t n)
{
    if (!ld || !data)
        return ERBP_E_NULL;
    if (ld->state != LOADING)
        return ERBP_E_STATE;
    while (n > 0 && ld->status == ERBP_OK) {
        if (ld->pos < PREFIX) {
            ld->head[ld->pos++] = *data++;
            n--;
            if (ld->pos == PREFIX)
                ld->status = prefix_done(ld);
        } else if (ld->pos == ld->size) {
            ld->status = ERBP_E_FILE_TRAILING;
        } else {
            uint32_t m = (size_t)(ld->size - ld->pos) < n ? ld->size - ld->pos : (uint32_t)n;
            consume(ld, data, m);
            data += m;
            n -= m;
        }
    }
    return (erbp_status_t)ld->status;
}

erbp_status_t erbp_loader_end(erbp_loader_t *ld)
{
    erbp_status_t st;
    if (!ld)
        return ERBP_E_NULL;
    if (ld->state != LOADING)
        return ERBP_E_STATE;
    st = (erbp_status_t)ld->status;
    if (st == ERBP_OK) {
        if (ld->pos < PREFIX || ld->pos < ld->size)
            st = ERBP_E_FILE_TRUNCATED;
        else if (ld->crc != ld->file_crc)
            st = ERBP_E_FILE_CRC;
        else
            st = (erbp_status_t)ld->held;
    }
    ld->state = 0;
    ld->status = st;
    if (st == ERBP_OK && ld->net) {
        ld->net->samples_seen = get_u32(ld->head + 16);
        ld->net->ready = ERBP_READY;
    }
    return st;
}

erbp_status_t erbp_loader_status(const erbp_loader_t *ld)
{
    if (!ld)
        return ERBP_E_NULL;
    return (erbp_status_t)(ld->status != ERBP_OK ? ld->status : ld->held);
}

uint32_t erbp_loader_file_bytes(const erbp_loader_t *ld)
{
    return ld ? ld->size : 0u;
}

/* ---- check and load -------------------------------------------------------------------------- */

erbp_status_t erbp_model_check(const uint8_t *data, size_t n, erbp_config_t *cfg,
                               uint32_t *seed, uint32_t *samples_seen)
{
    erbp_loader_t ld;
    erbp_config_t c;
    erbp_status_t st;
    if (!data)
        return ERBP_E_NULL;
    loader_start(&ld, (erbp_net_t *)0, &c, (void *)0, 0);
    erbp_loader_feed(&ld, data, n);
    st = erbp_loader_end(&ld);
    if (st != ERBP_OK)
        return st;
    if (cfg)
        erbp__config_copy(cfg, &c);
    if (seed)
        *seed = get_u32(ld.head + 12);
    if (samples_seen)
        *samples_seen = get_u32(ld.head + 16);
    return ERBP_OK;
}

erbp_status_t erbp_net_load(erbp_net_t *net, void *arena, size_t arena_bytes,
                            const uint8_t *data, size_t n)
{
    erbp_loader_t ld;
    erbp_status_t st;
    if (!net)
        return ERBP_E_NULL;
    net->ready = 0;
    /* the whole file first, so that a bad file is refused for its own fault before the arena's */
    st = erbp_model_check(data, n, (erbp_config_t *)0, (uint32_t *)0, (uint32_t *)0);
    if (st != ERBP_OK)
        return st;
    erbp_loader_begin(&ld, net, arena, arena_bytes);
    erbp_loader_feed(&ld, data, n);
    return erbp_loader_end(&ld);
}

/* ---- save ------------------------------------------------------------------------------------ */

/* Bytes [off, off + n) of the model file of a ready network, all before its CRC. */
static void emit(const erbp_net_t *net, uint32_t off, uint8_t *out, uint32_t n)
{
    const erbp_config_t *c = &net->cfg;
    uint32_t k, count, wide, start = BODY_START;
    for (; n > 0 && off < BODY_START; off++, n--) {
        uint32_t v, b = off & 3u;
        if (off >= ERBP_FILE_HEADER_BYTES)
            v = (uint32_t)erbp__config_get(c, (off - ERBP_FILE_HEADER_BYTES) >> 2);
        else if (off < 4u)
            v = 0x50425245u; /* "ERBP" */
        else if (off < 8u)
            v = ERBP_FORMAT_VERSION | ((uint32_t)ERBP_SEMANTICS_VERSION << 16);
        else if (off < 12u)
            v = file_bytes(c);
        else if (off < 16u)
            v = net->seed;
        else if (off < 20u)
            v = net->samples_seen;
        else
            v = ERBP_CONFIG_WORDS;
        *out++ = (uint8_t)((v >> (8u * b)) & 255u);
    }
    for (k = 0; n > 0 && body_array(c, k, &count, &wide); k++) {
        uint32_t end = start + count * wide;
        const void *a = array_ptr(net, k);
        if (net->rom) { /* a read-only network: its file holds these bytes */
            for (; n > 0 && off < end; off++, n--)
                *out++ = net->rom[off];
            start = end;
            continue;
        }
        for (; n > 0 && off < end; off++, n--) {
            uint32_t i = off - start;
            if (wide == 1u)
                *out++ = (uint8_t)((uint32_t)((const int8_t *)a)[i] & 255u);
            else
                *out++ = (uint8_t)(((uint32_t)((const int16_t *)a)[i >> 1] >> (8u * (i & 1u))) &
                                   255u);
        }
        start = end;
    }
    for (; n > 0; n--)
        *out++ = 0; /* padding */
}

/* The CRC-32 of a ready network's model file (of everything before its last 4 bytes). */
static uint32_t file_crc(const erbp_net_t *net, uint32_t crc_at)
{
    uint8_t buf[64];
    uint32_t off, m, crc = 0;
    for (off = 0; off < crc_at; off += m) {
        m = crc_at - off < (uint32_t)sizeof buf ? crc_at - off : (uint32_t)sizeof buf;
        emit(net, off, buf, m);
        crc = erbp_crc32(crc, buf, m);
    }
    return crc;
}

erbp_status_t erbp_net_save_range(const erbp_net_t *net, size_t offset, uint8_t *out, size_t n)
{
    uint32_t size, crc_at, off, end, i, crc;
    if (!net || !out)
        return ERBP_E_NULL;
    if (net->ready != ERBP_READY)
        return ERBP_E_STATE;
    size = file_bytes(&net->cfg);
    if (offset > (size_t)size || n > (size_t)size - offset)
        return ERBP_E_ARG;
    crc_at = size - 4u;
    off = (uint32_t)offset;
    end = off + (uint32_t)n;
    if (off < crc_at)
        emit(net, off, out, (end < crc_at ? end : crc_at) - off);
    if (end > crc_at) {
        crc = off == 0 ? erbp_crc32(0, out, crc_at) : file_crc(net, crc_at);
        for (i = off > crc_at ? off : crc_at; i < end; i++)
            out[i - off] = (uint8_t)((crc >> (8u * (i - crc_at))) & 255u);
    }
    return ERBP_OK;
}

erbp_status_t erbp_net_save(const erbp_net_t *net, uint8_t *out, size_t cap, size_t *written)
{
    uint32_t size;
    if (!net || !out)
        return ERBP_E_NULL;
    if (net->ready != ERBP_READY)
        return ERBP_E_STATE;
    size = file_bytes(&net->cfg);
    if (cap < (size_t)size)
        return ERBP_E_SIZE;
    erbp_net_save_range(net, 0, out, size);
    if (written)
        *written = (size_t)size;
    return ERBP_OK;
}
