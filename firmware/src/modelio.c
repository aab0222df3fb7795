/* Streaming model-file loader and reader (docs/semantics.md section 9, docs/protocol.md). */
#include "modelio.h"

#include "fw_string.h"

#include "crc32.h"
#include "proto_defs.h"

static void *g_arena;
static size_t g_arena_bytes;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static FwStatus ok(void)
{
    FwStatus s = {0u, 0u, "ok"};
    return s;
}

static FwStatus fail(FwModel *m, uint32_t code, uint32_t value, const char *why)
{
    FwStatus s;
    s.code = code;
    s.value = value;
    s.why = why;
    m->loading = 0;
    m->loaded = 0;
    m->created = 0;
    return s;
}

/* The file's segments after the header, in order. */
typedef struct {
    uint8_t *ptr;   /* storage (NULL: zero padding or the CRC) */
    uint32_t bytes;
    uint8_t kind;   /* 0 weights, 1 feedback, 2 padding, 3 CRC */
    uint8_t elem;   /* bytes per element */
} Segment;

#define MAX_SEGMENTS (2u * FW_MAX_LAYERS + 2u)

static uint32_t segments(const FwModel *m, Segment *seg)
{
    const FwShape *s = &m->shape;
    uint32_t k = 0, l, body = m->head_len;
    for (l = 0; l < s->n_layers; l++) {
        seg[k].ptr = fw_engine_weights(l);
        seg[k].bytes = s->sizes[l] * s->sizes[l + 1u] * s->weight_bytes;
        seg[k].kind = 0;
        seg[k].elem = (uint8_t)s->weight_bytes;
        body += seg[k++].bytes;
    }
    for (l = 0; l + 1u < s->n_layers; l++) {
        seg[k].ptr = fw_engine_feedback(l);
        seg[k].bytes = s->sizes[s->n_layers] * s->sizes[l + 1u] * 2u;
        seg[k].kind = 1;
        seg[k].elem = 2;
        body += seg[k++].bytes;
    }
    seg[k].ptr = NULL;
    seg[k].bytes = (4u - (body & 3u)) & 3u;
    seg[k].kind = 2;
    seg[k++].elem = 1;
    seg[k].ptr = NULL;
    seg[k].bytes = 4u;
    seg[k].kind = 3;
    seg[k++].elem = 1;
    return k;
}

static uint32_t file_size(const FwModel *m)
{
    Segment seg[MAX_SEGMENTS];
    uint32_t k, n = segments(m, seg), size = m->head_len;
    for (k = 0; k < n; k++) {
        size += seg[k].bytes;
    }
    return size;
}

void fw_model_init(FwModel *m, void *arena, size_t arena_bytes)
{
    memset(m, 0, sizeof *m);
    g_arena = arena;
    g_arena_bytes = arena_bytes;
}

FwStatus fw_model_begin(FwModel *m, uint32_t total)
{
    m->loading = 0;
    m->loaded = 0;
    m->created = 0;
    if (total < FW_MODEL_HEADER_BYTES + 4u) {
        return fail(m, FW_ERR_MODEL, total, "model file shorter than its header");
    }
    if (total > fw_model_max_bytes(m)) {
        return fail(m, FW_ERR_NO_MEMORY, (uint32_t)g_arena_bytes,
                    "model file larger than this board's memory");
    }
    m->total = total;
    m->pos = 0;
    m->crc = 0;
    m->file_crc = 0;
    m->head_len = 0;
    m->loading = 1;
    return ok();
}

/* The header and configuration are complete: check them and create the network. */
static FwStatus header_done(FwModel *m)
{
    const uint8_t *h = m->head;
    const char *why = "";
    int32_t words[FW_MAX_CONFIG_WORDS];
    uint32_t i, n_words = rd32(h + 20);
    if (memcmp(h, "ERBP", 4) != 0) {
        return fail(m, FW_ERR_MODEL, 0, "not an erbp model file (bad magic)");
    }
    if (((uint32_t)h[4] | ((uint32_t)h[5] << 8)) != 1u) {
        return fail(m, FW_ERR_MODEL, (uint32_t)h[4] | ((uint32_t)h[5] << 8),
                    "model-file format version is not 1");
    }
    if (((uint32_t)h[6] | ((uint32_t)h[7] << 8)) != fw_engine_semantics()) {
        return fail(m, FW_ERR_MODEL, (uint32_t)h[6] | ((uint32_t)h[7] << 8),
                    "model made for another semantics version");
    }
    if (rd32(h + 8) != m->total) {
        return fail(m, FW_ERR_MODEL, rd32(h + 8), "declared file size differs from the upload");
    }
    for (i = 0; i < n_words; i++) {
        words[i] = (int32_t)rd32(h + FW_MODEL_HEADER_BYTES + 4u * i);
    }
    if (fw_engine_check(words, &m->shape, &m->required, &why) != 0) {
        return fail(m, FW_ERR_MODEL, 0, why);
    }
    if (m->required > g_arena_bytes) {
        return fail(m, FW_ERR_NO_MEMORY, (uint32_t)g_arena_bytes,
                    "network needs more memory than this board has");
    }
    if (file_size(m) != m->total) {
        return fail(m, FW_ERR_MODEL, file_size(m), "file size does not match the configuration");
    }
    if (fw_engine_create(g_arena, g_arena_bytes, words, rd32(h + 12), rd32(h + 16), &why) != 0) {
        return fail(m, FW_ERR_MODEL, 0, why);
    }
    m->created = 1;
    return ok();
}

/* Range check of weights narrower than their storage. */
static int weights_in_range(const FwShape *s, const uint8_t *p, uint32_t n)
{
    uint32_t i;
    if (s->weight_bytes == 1u) {
        if (s->wmax == 127) {
            return 1;
        }
        for (i = 0; i < n; i++) {
            int32_t w = (int32_t)(int8_t)p[i];
            if (w < s->wmin || w > s->wmax) {
                return 0;
            }
        }
    } else {
        if (s->wmax == 32767) {
            return 1;
        }
        for (i = 0; i + 1u < n; i += 2u) {
            int32_t w = (int32_t)(int16_t)(uint16_t)((uint32_t)p[i] | ((uint32_t)p[i + 1u] << 8));
            if (w < s->wmin || w > s->wmax) {
                return 0;
            }
        }
    }
    return 1;
}

/* Consume bytes of the body (after the header) at file position m->pos. */
static FwStatus body_bytes(FwModel *m, const uint8_t *data, uint32_t n)
{
    Segment seg[MAX_SEGMENTS];
    uint32_t k, nseg = segments(m, seg), start = m->head_len;
    for (k = 0; k < nseg && n > 0; k++) {
        uint32_t end = start + seg[k].bytes;
        if (m->pos < end) {
            uint32_t off = m->pos - start, take = end - m->pos;
            if (take > n) {
                take = n;
            }
            if (seg[k].kind == 3u) {
                uint32_t i;
                for (i = 0; i < take; i++) {
                    m->file_crc |= (uint32_t)data[i] << (8u * (off + i));
                }
            } else {
                m->crc = fw_crc32(m->crc, data, take);
                if (seg[k].kind == 2u) {
                    uint32_t i;
                    for (i = 0; i < take; i++) {
                        if (data[i] != 0) {
                            return fail(m, FW_ERR_MODEL, m->pos + i, "nonzero padding before the CRC");
                        }
                    }
                } else {
                    /* Element-aligned range checks: chunks may split an int16 weight; check the
                     * complete elements once their last byte is in (done below at the end). */
                    memcpy(seg[k].ptr + off, data, take);
                    if (seg[k].kind == 0u) {
                        uint32_t e = seg[k].elem, a = off - off % e, b = off + take;
                        b -= b % e;
                        if (b > a && !weights_in_range(&m->shape, seg[k].ptr + a, b - a)) {
                            return fail(m, FW_ERR_MODEL, k, "weights outside weight_bits");
                        }
                    }
                }
            }
            m->pos += take;
            data += take;
            n -= take;
        }
        start = end;
    }
    return ok();
}

FwStatus fw_model_chunk(FwModel *m, uint32_t offset, const uint8_t *data, uint32_t n,
                        uint32_t *next)
{
    FwStatus st;
    *next = m->pos;
    if (!m->loading) {
        return fail(m, FW_ERR_NOT_LOADING, 0, "no upload in progress (send LOAD_BEGIN)");
    }
    if (offset < m->pos && (uint64_t)offset + n <= m->pos) {
        return ok(); /* a repeated chunk: already applied */
    }
    if (offset != m->pos) {
        FwStatus s = {FW_ERR_OFFSET, m->pos, "chunk offset out of order"};
        return s;
    }
    if ((uint64_t)offset + n > m->total) {
        FwStatus s = {FW_ERR_ARGUMENT, m->total, "chunk runs past the declared file size"};
        return s;
    }
    while (n > 0 && m->pos < FW_MODEL_HEADER_BYTES) {
        m->head[m->pos++] = *data++;
        n--;
        if (m->pos == FW_MODEL_HEADER_BYTES) {
            uint32_t n_words = rd32(m->head + 20);
            if (n_words != fw_engine_config_words() || n_words > FW_MAX_CONFIG_WORDS) {
                return fail(m, FW_ERR_MODEL, n_words, "wrong number of configuration words");
            }
            m->head_len = FW_MODEL_HEADER_BYTES + 4u * n_words;
        }
    }
    while (n > 0 && m->pos < m->head_len) {
        m->head[m->pos++] = *data++;
        n--;
    }
    if (m->pos == m->head_len && m->head_len > 0 && !m->created) {
        m->crc = fw_crc32(0, m->head, m->head_len);
        st = header_done(m);
        if (st.code != 0) {
            return st;
        }
    }
    if (n > 0) {
        st = body_bytes(m, data, n);
        if (st.code != 0) {
            return st;
        }
    }
    *next = m->pos;
    return ok();
}

FwStatus fw_model_end(FwModel *m)
{
    if (!m->loading) {
        return fail(m, FW_ERR_NOT_LOADING, 0, "no upload in progress (send LOAD_BEGIN)");
    }
    if (m->pos != m->total || !m->created) {
        FwStatus s = {FW_ERR_OFFSET, m->pos, "upload incomplete"};
        return s;
    }
    if (m->crc != m->file_crc) {
        return fail(m, FW_ERR_MODEL, m->crc, "CRC mismatch: the model file is corrupt");
    }
    m->loading = 0;
    m->loaded = 1;
    return ok();
}

uint32_t fw_model_max_bytes(const FwModel *m)
{
    /* A model file holds at most the header, the configuration and the arrays the arena holds. */
    return (uint32_t)(g_arena_bytes + sizeof m->head + 4u);
}

uint32_t fw_model_file_size(const FwModel *m)
{
    return file_size(m);
}

/* Copy [offset, offset+n) of the file made of header, segments; CRC bytes are filled by the
 * caller-independent pass below. */
static void copy_span(FwModel *m, const Segment *seg, uint32_t nseg, uint32_t offset,
                      uint8_t *out, uint32_t n, uint32_t crc)
{
    uint32_t k, start;
    uint8_t crc_bytes[4];
    wr32(crc_bytes, crc);
    if (offset < m->head_len) {
        uint32_t take = m->head_len - offset;
        if (take > n) {
            take = n;
        }
        memcpy(out, m->head + offset, take);
        out += take;
        offset += take;
        n -= take;
    }
    start = m->head_len;
    for (k = 0; k < nseg && n > 0; k++) {
        uint32_t end = start + seg[k].bytes;
        if (offset < end) {
            uint32_t off = offset - start, take = end - offset;
            if (take > n) {
                take = n;
            }
            if (seg[k].ptr != NULL) {
                memcpy(out, seg[k].ptr + off, take);
            } else if (seg[k].kind == 3u) {
                memcpy(out, crc_bytes + off, take);
            } else {
                memset(out, 0, take);
            }
            out += take;
            offset += take;
            n -= take;
        }
        start = end;
    }
}

void fw_model_read(FwModel *m, uint32_t offset, uint8_t *out, uint32_t n)
{
    Segment seg[MAX_SEGMENTS];
    uint32_t nseg, size, crc = 0;
    wr32(m->head + 16, fw_engine_samples_seen());
    nseg = segments(m, seg);
    size = file_size(m);
    if ((uint64_t)offset + n > size - 4u) {
        /* The read reaches the CRC: compute it over everything before it. */
        uint32_t k;
        crc = fw_crc32(0, m->head, m->head_len);
        for (k = 0; k < nseg; k++) {
            if (seg[k].kind == 2u) {
                static const uint8_t zeros[4] = {0, 0, 0, 0};
                crc = fw_crc32(crc, zeros, seg[k].bytes);
            } else if (seg[k].ptr != NULL) {
                crc = fw_crc32(crc, seg[k].ptr, seg[k].bytes);
            }
        }
    }
    copy_span(m, seg, nseg, offset, out, n, crc);
}
