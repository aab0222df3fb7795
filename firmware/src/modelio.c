/* Model upload over the link (docs/protocol.md section 2); the file itself is checked and loaded
 * by the engine (cport's incremental loader, engine_cport.c). */
#include "modelio.h"

#include "fw_engine.h"
#include "fw_string.h"
#include "proto_defs.h"

static void *g_arena;
static size_t g_arena_bytes;

static FwStatus ok(void)
{
    FwStatus s = {0u, 0u, "ok"};
    return s;
}

/* A refusal that changes nothing (the request was out of turn or out of range). */
static FwStatus refuse(uint32_t code, uint32_t value, const char *why)
{
    FwStatus s;
    s.code = code;
    s.value = value;
    s.why = why;
    return s;
}

/* The file is certain to be refused: its upload is over (the model before it was dropped by
 * LOAD_BEGIN; nothing is live until the next complete upload). */
static FwStatus abandon(FwModel *m, uint32_t code, uint32_t value, const char *why)
{
    m->loading = 0;
    m->loaded = 0;
    return refuse(code, value, why);
}

static FwStatus engine_status(const FwRefusal *r)
{
    if (r->kind == FW_ENGINE_NO_MEMORY) {
        return refuse(FW_ERR_NO_MEMORY, (uint32_t)g_arena_bytes, r->why);
    }
    return refuse(FW_ERR_MODEL, r->detail, r->why);
}

static FwStatus refused(FwModel *m, const FwRefusal *r)
{
    FwStatus s = engine_status(r);
    return abandon(m, s.code, s.value, s.why);
}

void fw_model_init(FwModel *m, void *arena, size_t arena_bytes)
{
    memset(m, 0, sizeof *m);
    g_arena = arena;
    g_arena_bytes = arena_bytes;
    m->loaded = fw_engine_boot() == 0 ? 1u : 0u; /* a model in flash is live from boot */
}

FwStatus fw_model_begin(FwModel *m, uint32_t total)
{
    FwRefusal r;
    if (fw_engine_read_only()) { /* the model in flash stays live: nothing changes */
        return refuse(FW_ERR_MODEL, 0u, "this board runs the model in its flash: it loads no other");
    }
    /* a size no model can have changes nothing: the live model (or upload) stays */
    if (fw_engine_load_size_check(g_arena_bytes, total, &r) != 0) {
        return engine_status(&r);
    }
    m->loaded = 0;
    m->loading = 0;
    if (fw_engine_load_begin(g_arena, g_arena_bytes, &r) != 0) {
        return engine_status(&r); /* the arena itself is unusable */
    }
    m->total = total;
    m->pos = 0;
    m->loading = 1;
    return ok();
}

FwStatus fw_model_chunk(FwModel *m, uint32_t offset, const uint8_t *data, uint32_t n,
                        uint32_t *next)
{
    FwRefusal r;
    *next = m->pos;
    if (!m->loading) {
        return refuse(FW_ERR_NOT_LOADING, 0, "no upload in progress (send LOAD_BEGIN)");
    }
    if (offset < m->pos && (uint64_t)offset + n <= m->pos) {
        return ok(); /* a repeated chunk: already applied */
    }
    if (offset != m->pos) {
        return refuse(FW_ERR_OFFSET, m->pos, "chunk offset out of order");
    }
    if ((uint64_t)offset + n > m->total) {
        return refuse(FW_ERR_ARGUMENT, m->total, "chunk runs past the declared file size");
    }
    while (n > 0) {
        /* byte by byte until the header's size field is known, so that a file whose declared
         * size differs from the announced one is refused for that, before any byte past it */
        uint32_t k = fw_engine_load_declared_bytes() == 0 ? 1u : n, declared;
        if (fw_engine_load_feed(data, k, &r) != 0) {
            return refused(m, &r);
        }
        m->pos += k;
        data += k;
        n -= k;
        declared = fw_engine_load_declared_bytes();
        if (declared != 0 && declared != m->total) {
            return abandon(m, FW_ERR_MODEL, declared, "declared file size differs from the upload");
        }
    }
    *next = m->pos;
    return ok();
}

FwStatus fw_model_end(FwModel *m)
{
    FwRefusal r;
    if (!m->loading) {
        return refuse(FW_ERR_NOT_LOADING, 0, "no upload in progress (send LOAD_BEGIN)");
    }
    if (m->pos != m->total) {
        return refuse(FW_ERR_OFFSET, m->pos, "upload incomplete");
    }
    if (fw_engine_load_end(&r) != 0) {
        return refused(m, &r);
    }
    m->loading = 0;
    m->loaded = 1;
    return ok();
}

uint32_t fw_model_max_bytes(const FwModel *m)
{
    (void)m;
    return fw_engine_max_model_bytes(g_arena_bytes);
}
