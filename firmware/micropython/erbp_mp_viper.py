# erbp_mp_viper -- the hot loops of erbp_mp as @micropython.viper native code.
#
# Same functions, arguments and results as erbp_mp_plain (the plain-Python fallback); erbp_mp picks
# one of the two at load time. Every function implements a phase of docs/semantics.md section 7 on
# preallocated buffers (array / bytearray) and allocates nothing.
#
# Viper integers are machine words: 32 bits on Cortex-M, ESP32 and RISC-V boards, 64 bits on the
# unix port. The code below gives the same results for both widths:
#   * u32 arithmetic (MIX32, DRAW) runs on `uint` values masked with MASK after every multiply
#     and add (a no-op on 32-bit words, the mod-2^32 reduction on 64-bit words); `>>` on a uint is
#     a logical shift on every emitter;
#   * buffer loads through ptr8/ptr16/ptr32 are zero-extended on 64-bit words, so signed values are
#     sign-extended explicitly: (x ^ 0x80) - 0x80, (x ^ 0x8000) - 0x8000, (x ^ SB) - SB with
#     SB = 1 << 31 (on 32-bit words SB is INT_MIN and the expression is the identity mod 2^32);
#   * no literal needs more than 30 bits (mpy-cross and 32-bit ports give larger literals the type
#     object, not int): 32-bit constants are built from 16-bit halves;
#   * every signed intermediate fits in 31 bits (semantics.md 1.6), so signed arithmetic never
#     wraps on either width.
# Hashes are written out inline: a call from viper to viper boxes its arguments, which would
# allocate on a 32-bit port for u32 values >= 2^30.
import micropython

KIND = "viper"


@micropython.viper
def mix32(x: uint) -> uint:
    """MIX32(x) (semantics.md section 5), for tests and the self-test."""
    MASK = (uint(0xFFFF) << 16) | uint(0xFFFF)
    M2 = (uint(0x735A) << 16) | uint(0x2D97)
    x = x & MASK
    x = x ^ (x >> 16)
    x = (x * uint(0x21F0AAAD)) & MASK
    x = x ^ (x >> 15)
    x = (x * M2) & MASK
    x = x ^ (x >> 15)
    return x


@micropython.viper
def draw(keys: ptr32, ki: int, i: int) -> uint:
    """DRAW(keys[ki], i), for tests."""
    MASK = (uint(0xFFFF) << 16) | uint(0xFFFF)
    M2 = (uint(0x735A) << 16) | uint(0x2D97)
    GOLD = (uint(0x9E37) << 16) | uint(0x79B9)
    x = (uint(keys[ki]) + uint(i) * GOLD) & MASK
    x = x ^ (x >> 16)
    x = (x * uint(0x21F0AAAD)) & MASK
    x = x ^ (x >> 15)
    x = (x * M2) & MASK
    x = x ^ (x >> 15)
    return x


@micropython.viper
def absorb_keys(src: ptr32, dst: ptr32, n: int, v: ptr32, vi: int):
    """dst[s] = ABSORB(src[s], v[vi]) for s < n (src may be dst): the sample keys from the
    network keys (v = the sample index), the tick keys from the sample keys (v = the tick).
    ABSORB(h, v) = MIX32(h xor MIX32(v xor 0x9e3779b9))."""
    MASK = (uint(0xFFFF) << 16) | uint(0xFFFF)
    M2 = (uint(0x735A) << 16) | uint(0x2D97)
    GOLD = (uint(0x9E37) << 16) | uint(0x79B9)
    x = (uint(v[vi]) ^ GOLD) & MASK
    x = x ^ (x >> 16)
    x = (x * uint(0x21F0AAAD)) & MASK
    x = x ^ (x >> 15)
    x = (x * M2) & MASK
    x = x ^ (x >> 15)
    mv = x
    for s in range(n):
        x = (uint(src[s]) ^ mv) & MASK
        x = x ^ (x >> 16)
        x = (x * uint(0x21F0AAAD)) & MASK
        x = x ^ (x >> 15)
        x = (x * M2) & MASK
        x = x ^ (x >> 15)
        dst[s] = x


@micropython.viper
def init_uniform(out, wide: int, n: int, keys: ptr32, ki: int, amp: int):
    """out[i] = UNIFORM(DRAW(keys[ki], i), amp) for i < n; out is int8 (wide = 0) or int16."""
    MASK = (uint(0xFFFF) << 16) | uint(0xFFFF)
    M2 = (uint(0x735A) << 16) | uint(0x2D97)
    GOLD = (uint(0x9E37) << 16) | uint(0x79B9)
    key = uint(keys[ki])
    p8 = ptr8(out)
    p16 = ptr16(out)
    span = uint(2 * amp + 1)
    for i in range(n):
        x = (key + uint(i) * GOLD) & MASK
        x = x ^ (x >> 16)
        x = (x * uint(0x21F0AAAD)) & MASK
        x = x ^ (x >> 15)
        x = (x * M2) & MASK
        x = x ^ (x >> 15)
        v = int(((x >> 16) * span) >> 16) - amp
        if wide:
            p16[i] = v
        else:
            p8[i] = v


@micropython.viper
def prep_pixels(src, dst: ptr8, idx: ptr16, n: int) -> int:
    """Copy n pixels into dst, list the nonzero ones in idx; returns how many."""
    s = ptr8(src)
    k = 0
    for j in range(n):
        v = s[j]
        dst[j] = v
        if v:
            idx[k] = j
            k += 1
    return k


@micropython.viper
def zero(buf, nbytes: int):
    """Clear the first nbytes of a buffer."""
    p = ptr8(buf)
    for i in range(nbytes):
        p[i] = 0


@micropython.viper
def update_factors(I: ptr16, U: ptr16, dw: ptr16, n: int, keys: ptr32, ki: int,
                   lr_mult: int, lr_shift: int, gate_lo: int, gate_hi: int,
                   wmin: int, wmax: int) -> int:
    """Phase 1: dw[i] = SAT(SRS(U*lr_mult, lr_shift, DRAW(key, i)), wmin, wmax) if
    gate_lo < I < gate_hi else 0. Returns the number of nonzero dw."""
    MASK = (uint(0xFFFF) << 16) | uint(0xFFFF)
    M2 = (uint(0x735A) << 16) | uint(0x2D97)
    GOLD = (uint(0x9E37) << 16) | uint(0x79B9)
    key = uint(keys[ki])
    mk = (1 << lr_shift) - 1
    nz = 0
    for i in range(n):
        d = 0
        c = (int(I[i]) ^ 0x8000) - 0x8000
        if gate_lo < c and c < gate_hi:
            q = ((int(U[i]) ^ 0x8000) - 0x8000) * lr_mult
            if q != 0:
                x = (key + uint(i) * GOLD) & MASK
                x = x ^ (x >> 16)
                x = (x * uint(0x21F0AAAD)) & MASK
                x = x ^ (x >> 15)
                x = (x * M2) & MASK
                x = x ^ (x >> 15)
                d = q >> lr_shift
                if int(x & uint(mk)) < (q & mk):
                    d += 1
                if d < wmin:
                    d = wmin
                elif d > wmax:
                    d = wmax
                if d != 0:
                    nz += 1
        dw[i] = d
    return nz


@micropython.viper
def input_spikes(px: ptr8, pidx: ptr16, npx: int, in_ref: ptr8, in_spk: ptr8, out: ptr16,
                 keys: ptr32, ki: int, gain: int, refractory: int) -> int:
    """Phase 2 over the nonzero pixels pidx[:npx] (a zero pixel never spikes, so its in_ref stays
    0 and its in_spk 0). Lists the spiking inputs in out; returns how many."""
    MASK = (uint(0xFFFF) << 16) | uint(0xFFFF)
    M2 = (uint(0x735A) << 16) | uint(0x2D97)
    GOLD = (uint(0x9E37) << 16) | uint(0x79B9)
    key = uint(keys[ki])
    ns = 0
    for q in range(npx):
        j = int(pidx[q])
        rf = int(in_ref[j])
        if rf > 0:
            in_ref[j] = rf - 1
            in_spk[j] = 0
            continue
        x = (key + uint(j) * GOLD) & MASK
        x = x ^ (x >> 16)
        x = (x * uint(0x21F0AAAD)) & MASK
        x = x ^ (x >> 15)
        x = (x * M2) & MASK
        x = x ^ (x >> 15)
        if int(x >> 16) < int(px[j]) * gain:
            in_spk[j] = 1
            in_ref[j] = refractory
            out[ns] = j
            ns += 1
        else:
            in_spk[j] = 0
    return ns


@micropython.viper
def deliver(p: ptr32, a: int, W, wide: int, n_post: int, pre: ptr16, npre: int, dw: ptr16,
            learn: int, acc: ptr32, off: ptr32, wmin: int, wmax: int):
    """Phase 3 for one layer whose synapses always transmit (p_transmit = 256): for every
    spiking pre j (pre[:npre]) and post i, W[j, i] = SAT(W[j, i] + dw[i]) when learn, then
    acc[i] = sum over j of W[j, i]. W is int8 (wide = 0) or int16, row-major [n_pre][n_post];
    off (int32, n_pre entries) is scratch.

    Runs column by column, so dw[i] and the sum stay in locals, and a column without update sums
    bias-shifted raw values (w + 2^(b-1) = raw xor 2^(b-1)) with one correction at the end. p and
    a, the variables of the innermost loops, are parameters (the caller passes off and 0) because
    viper keeps its first locals in registers and parameters come first."""
    w8 = ptr8(W)
    w16 = ptr16(W)
    for q in range(npre):
        off[q] = int(pre[q]) * n_post
    end = uint(off) + uint(npre << 2)
    nb = (0x8000 if wide else 0x80) * npre
    for i in range(n_post):
        d = 0
        if learn:
            d = (int(dw[i]) ^ 0x8000) - 0x8000
        a = 0
        p = off
        if d == 0:
            if wide:
                while uint(p) < end:
                    a += int(w16[int(p[0]) + i]) ^ 0x8000
                    p = ptr32(uint(p) + 4)
            else:
                while uint(p) < end:
                    a += int(w8[int(p[0]) + i]) ^ 0x80
                    p = ptr32(uint(p) + 4)
            a -= nb
        elif wide:
            while uint(p) < end:
                k = int(p[0]) + i
                w = ((int(w16[k]) ^ 0x8000) - 0x8000) + d
                if w < wmin:
                    w = wmin
                elif w > wmax:
                    w = wmax
                w16[k] = w
                a += w
                p = ptr32(uint(p) + 4)
        else:
            while uint(p) < end:
                k = int(p[0]) + i
                w = ((int(w8[k]) ^ 0x80) - 0x80) + d
                if w < wmin:
                    w = wmin
                elif w > wmax:
                    w = wmax
                w8[k] = w
                a += w
                p = ptr32(uint(p) + 4)
        acc[i] = a


@micropython.viper
def deliver_blank(W, wide: int, n_post: int, pre: ptr16, npre: int, dw: ptr16, learn: int,
                  acc: ptr32, wmin: int, wmax: int, p_transmit: int, keys: ptr32, ki: int):
    """Phase 3 for one peRBP layer (p_transmit < 256): as deliver, but acc[i] sums only the
    synapses whose BLANK byte, (DRAW(key, j * ceil(n_post/4) + i/4) >> 8(i%4)) & 255, is below
    p_transmit. Row by row: one hash per four synapses."""
    MASK = (uint(0xFFFF) << 16) | uint(0xFFFF)
    M2 = (uint(0x735A) << 16) | uint(0x2D97)
    GOLD = (uint(0x9E37) << 16) | uint(0x79B9)
    w8 = ptr8(W)
    w16 = ptr16(W)
    for i in range(n_post):
        acc[i] = 0
    key = uint(keys[ki])
    words = (n_post + 3) >> 2
    x = uint(0)
    for q in range(npre):
        j = int(pre[q])
        o = j * n_post
        base = j * words
        for i in range(n_post):
            if wide:
                w = (int(w16[o + i]) ^ 0x8000) - 0x8000
            else:
                w = (int(w8[o + i]) ^ 0x80) - 0x80
            if learn:
                d = (int(dw[i]) ^ 0x8000) - 0x8000
                if d != 0:
                    w += d
                    if w < wmin:
                        w = wmin
                    elif w > wmax:
                        w = wmax
                    if wide:
                        w16[o + i] = w
                    else:
                        w8[o + i] = w
            b = i & 3
            if b == 0:
                x = (key + uint(base + (i >> 2)) * GOLD) & MASK
                x = x ^ (x >> 16)
                x = (x * uint(0x21F0AAAD)) & MASK
                x = x ^ (x >> 15)
                x = (x * M2) & MASK
                x = x ^ (x >> 15)
            if int((x >> (b << 3)) & uint(0xFF)) < p_transmit:
                acc[i] = int(acc[i]) + w


@micropython.viper
def neurons(I: ptr16, V: ptr16, ref: ptr8, spk: ptr8, count: ptr32, out: ptr16, acc: ptr32,
            n: int, w_shift: int, syn_shift: int, mem_shift: int, i2v_shift: int,
            threshold: int, refractory: int, smin: int, smax: int,
            noise_prob: int, noise_weight: int, keys: ptr32, ki: int) -> int:
    """Phase 4 for one population; lists its spiking neurons in out, returns how many."""
    MASK = (uint(0xFFFF) << 16) | uint(0xFFFF)
    M2 = (uint(0x735A) << 16) | uint(0x2D97)
    GOLD = (uint(0x9E37) << 16) | uint(0x79B9)
    SB = int(1) << 31
    key = uint(keys[ki])
    ks = (1 << syn_shift) - 1
    km = (1 << mem_shift) - 1
    ns = 0
    for i in range(n):
        a = (int(acc[i]) ^ SB) - SB
        c = (int(I[i]) ^ 0x8000) - 0x8000
        if c > 0:
            c -= (c + ks) >> syn_shift
        elif c < 0:
            c += (ks - c) >> syn_shift
        c += a << w_shift
        if c < smin:
            c = smin
        elif c > smax:
            c = smax
        I[i] = c
        r = int(ref[i])
        if r > 0:
            ref[i] = r - 1
            V[i] = 0
            spk[i] = 0
            continue
        v = (int(V[i]) ^ 0x8000) - 0x8000
        if v > 0:
            v -= (v + km) >> mem_shift
        elif v < 0:
            v += (km - v) >> mem_shift
        v += c >> i2v_shift
        if noise_prob > 0:
            x = (key + uint(i) * GOLD) & MASK
            x = x ^ (x >> 16)
            x = (x * uint(0x21F0AAAD)) & MASK
            x = x ^ (x >> 15)
            x = (x * M2) & MASK
            x = x ^ (x >> 15)
            if int(x >> 16) < noise_prob:
                v += noise_weight
        if v < smin:
            v = smin
        elif v > smax:
            v = smax
        if v >= threshold:
            V[i] = 0
            ref[i] = refractory
            spk[i] = 1
            count[i] = int(count[i]) + 1
            out[ns] = i
            ns += 1
        else:
            V[i] = v
            spk[i] = 0
    return ns


@micropython.viper
def errors(out_spk: ptr8, ep: ptr16, en: ptr16, ep_spk: ptr8, en_spk: ptr8, ks: ptr8, es: ptr8,
           n_out: int, lab: int, lw: int, pw: int, thr: int) -> int:
    """Phase 5, error neurons: net_k = [k = lab] * lw - out_spk[k] * pw (lab = -1: no label
    spike this tick); E+ integrates net, E- its negation, each spikes at thr (subtractive reset)
    and is rectified at 0. Lists the classes with e_k = ep_spk - en_spk != 0 in ks, the sign in es
    (1 or 255); returns how many. Error states stay in [0, thr), so 16-bit loads need no sign."""
    ne = 0
    for k in range(n_out):
        net = 0
        if k == lab:
            net = lw
        if out_spk[k]:
            net -= pw
        x = int(ep[k]) + net
        p = 0
        if x >= thr:
            p = 1
            ep[k] = x - thr
        elif x > 0:
            ep[k] = x
        else:
            ep[k] = 0
        ep_spk[k] = p
        x = int(en[k]) - net
        m = 0
        if x >= thr:
            m = 1
            en[k] = x - thr
        elif x > 0:
            en[k] = x
        else:
            en[k] = 0
        en_spk[k] = m
        if p != m:
            ks[ne] = k
            es[ne] = 1 if p else 255
            ne += 1
    return ne


@micropython.viper
def dendrites(U: ptr16, n: int, G: ptr16, ks: ptr8, es: ptr8, ne: int, dend_shift: int,
              smin: int, smax: int):
    """Phase 5, hidden layer: U[i] = SAT(DECAY(U[i]) + sum_q es[q] * G[ks[q], i]); es[q] is +-1
    stored as a byte (1 or 255), ks[q] the class of the q-th nonzero error."""
    kd = (1 << dend_shift) - 1
    for i in range(n):
        u = (int(U[i]) ^ 0x8000) - 0x8000
        if u > 0:
            u -= (u + kd) >> dend_shift
        elif u < 0:
            u += (kd - u) >> dend_shift
        if ne:
            for q in range(ne):
                g = (int(G[int(ks[q]) * n + i]) ^ 0x8000) - 0x8000
                if es[q] == 1:
                    u += g
                else:
                    u -= g
            if u < smin:
                u = smin
            elif u > smax:
                u = smax
        U[i] = u


@micropython.viper
def readout(R: ptr32, I: ptr16, n: int):
    """Phase 4, the readout sums: R[k] += I[k] (R int32: |R| <= 32768 * 65535, so the sum fits
    a 32-bit word; loads sign-extended for 64-bit words)."""
    SB = int(1) << 31
    for k in range(n):
        R[k] = ((int(R[k]) ^ SB) - SB) + ((int(I[k]) ^ 0x8000) - 0x8000)


@micropython.viper
def argmax(S: ptr32, n: int) -> int:
    """The prediction: the index of the highest of the int32 scores S[:n], lowest on ties."""
    SB = int(1) << 31
    best = 0
    top = (int(S[0]) ^ SB) - SB
    for k in range(1, n):
        s = (int(S[k]) ^ SB) - SB
        if s > top:
            top = s
            best = k
    return best


@micropython.viper
def exit_check(S: ptr32, n: int, margin: int) -> int:
    """The early exit: 1 if the highest of the int32 scores S[:n] (n >= 2) leads the second
    highest (a tie of two leaders: 0) by margin or more (0 < margin < 2^31), else 0. The lead can
    pass 2^31 (a signed 32-bit word's range) only when top >= 0 > second: that case compares its
    parts, so no signed value wraps on either word size."""
    SB = int(1) << 31
    top = (int(S[0]) ^ SB) - SB
    second = (int(S[1]) ^ SB) - SB
    if second > top:
        s = top
        top = second
        second = s
    for k in range(2, n):
        s = (int(S[k]) ^ SB) - SB
        if s > top:
            second = top
            top = s
        elif s > second:
            second = s
    if top >= 0 and second < 0:
        if margin <= top:
            return 1
        if 0 - second >= margin - top:
            return 1
        return 0
    if top - second >= margin:
        return 1
    return 0
