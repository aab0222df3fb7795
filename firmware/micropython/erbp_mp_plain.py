# erbp_mp_plain -- the hot loops of erbp_mp in plain Python (the fallback for ports without the
# native emitters, and the baseline of the benchmark).
#
# Same functions, arguments and results as erbp_mp_viper. Python integers are exact, so the only
# care needed is the mod-2^32 reduction of the hash. The hash is arranged so that no intermediate
# exceeds 2^62: on 64-bit ports (small ints up to 2^62) a sample then allocates nothing; on 32-bit
# ports (small ints up to 2^30) the u32 values of the hash are heap integers, which is correct but
# allocates (use the viper kernels there).
# Buffers are read and written element-wise through array typecodes 'b'/'h'/'i'/'I'/'B', which
# MicroPython reads signed or unsigned as declared.

KIND = "plain"

_MASK = 0xFFFFFFFF
_M1 = 0x21F0AAAD
_M2L = 0x2D97  # 0x735a2d97 split into 16-bit halves (keeps x * M2 below 2^62)
_M2H = 0x735A
_GOLD = 0x9E3779B9


def mix32(x):
    """MIX32(x) (semantics.md section 5)."""
    x &= _MASK
    x ^= x >> 16
    x = (x * _M1) & _MASK
    x ^= x >> 15
    x = (x * _M2L + (((x * _M2H) & 0xFFFF) << 16)) & _MASK
    x ^= x >> 15
    return x


def draw(keys, ki, i):
    """DRAW(keys[ki], i)."""
    return mix32(keys[ki] + i * _GOLD)


def absorb_keys(src, dst, n, v, vi):
    """dst[s] = ABSORB(src[s], v[vi]) for s < n."""
    mv = mix32(v[vi] ^ _GOLD)
    for s in range(n):
        dst[s] = mix32(src[s] ^ mv)


def init_uniform(out, wide, n, keys, ki, amp):
    """out[i] = UNIFORM(DRAW(keys[ki], i), amp) for i < n (out has a signed typecode)."""
    key = keys[ki]
    span = 2 * amp + 1
    for i in range(n):
        out[i] = (((mix32(key + i * _GOLD) >> 16) * span) >> 16) - amp


def prep_pixels(src, dst, idx, n):
    """Copy n pixels into dst, list the nonzero ones in idx; returns how many."""
    k = 0
    for j in range(n):
        v = src[j]
        dst[j] = v
        if v:
            idx[k] = j
            k += 1
    return k


def zero(buf, nbytes):
    """Clear a whole buffer (nbytes is its size in bytes)."""
    for i in range(len(buf)):
        buf[i] = 0


def update_factors(I, U, dw, n, keys, ki, lr_mult, lr_shift, gate_lo, gate_hi, wmin, wmax):
    """Phase 1; returns the number of nonzero dw."""
    key = keys[ki]
    mk = (1 << lr_shift) - 1
    nz = 0
    for i in range(n):
        d = 0
        c = I[i]
        if gate_lo < c < gate_hi:
            q = U[i] * lr_mult
            if q:
                d = (q >> lr_shift) + ((mix32(key + i * _GOLD) & mk) < (q & mk))
                if d < wmin:
                    d = wmin
                elif d > wmax:
                    d = wmax
                if d:
                    nz += 1
        dw[i] = d
    return nz


def input_spikes(px, pidx, npx, in_ref, in_spk, out, keys, ki, gain, refractory):
    """Phase 2 over the nonzero pixels; returns the number of input spikes (listed in out)."""
    key = keys[ki]
    ns = 0
    for q in range(npx):
        j = pidx[q]
        rf = in_ref[j]
        if rf:
            in_ref[j] = rf - 1
            in_spk[j] = 0
        elif (mix32(key + j * _GOLD) >> 16) < px[j] * gain:
            in_spk[j] = 1
            in_ref[j] = refractory
            out[ns] = j
            ns += 1
        else:
            in_spk[j] = 0
    return ns


def deliver(p, a, W, wide, n_post, pre, npre, dw, learn, acc, off, wmin, wmax):
    """Phase 3 for one layer with p_transmit = 256 (see erbp_mp_viper.deliver; p, a and off
    are the viper version's register locals and scratch, unused here)."""
    for i in range(n_post):
        acc[i] = 0
    for q in range(npre):
        o = pre[q] * n_post
        if learn:
            for i in range(n_post):
                d = dw[i]
                if d:
                    w = W[o + i] + d
                    if w < wmin:
                        w = wmin
                    elif w > wmax:
                        w = wmax
                    W[o + i] = w
        for i in range(n_post):
            acc[i] += W[o + i]


def deliver_blank(W, wide, n_post, pre, npre, dw, learn, acc, wmin, wmax, p_transmit, keys, ki):
    """Phase 3 for one peRBP layer (see erbp_mp_viper.deliver_blank)."""
    for i in range(n_post):
        acc[i] = 0
    key = keys[ki]
    words = (n_post + 3) >> 2
    for q in range(npre):
        o = pre[q] * n_post
        if learn:
            for i in range(n_post):
                d = dw[i]
                if d:
                    w = W[o + i] + d
                    if w < wmin:
                        w = wmin
                    elif w > wmax:
                        w = wmax
                    W[o + i] = w
        base = pre[q] * words
        r = 0
        for i in range(n_post):
            b = i & 3
            if b == 0:
                r = mix32(key + (base + (i >> 2)) * _GOLD)
            if ((r >> (b << 3)) & 0xFF) < p_transmit:
                acc[i] += W[o + i]


def neurons(I, V, ref, spk, count, out, acc, n, w_shift, syn_shift, mem_shift, i2v_shift,
            threshold, refractory, smin, smax, noise_prob, noise_weight, keys, ki):
    """Phase 4 for one population; returns the number of spikes (listed in out)."""
    key = keys[ki]
    ks = (1 << syn_shift) - 1
    km = (1 << mem_shift) - 1
    ns = 0
    for i in range(n):
        c = I[i]
        if c > 0:
            c -= (c + ks) >> syn_shift
        elif c < 0:
            c += (ks - c) >> syn_shift
        c += acc[i] << w_shift
        if c < smin:
            c = smin
        elif c > smax:
            c = smax
        I[i] = c
        r = ref[i]
        if r:
            ref[i] = r - 1
            V[i] = 0
            spk[i] = 0
            continue
        v = V[i]
        if v > 0:
            v -= (v + km) >> mem_shift
        elif v < 0:
            v += (km - v) >> mem_shift
        v += c >> i2v_shift
        if noise_prob and (mix32(key + i * _GOLD) >> 16) < noise_prob:
            v += noise_weight
        if v < smin:
            v = smin
        elif v > smax:
            v = smax
        if v >= threshold:
            V[i] = 0
            ref[i] = refractory
            spk[i] = 1
            count[i] += 1
            out[ns] = i
            ns += 1
        else:
            V[i] = v
            spk[i] = 0
    return ns


def errors(out_spk, ep, en, ep_spk, en_spk, ks, es, n_out, lab, lw, pw, thr):
    """Phase 5, error neurons (see erbp_mp_viper.errors); returns the number of nonzero e_k."""
    ne = 0
    for k in range(n_out):
        net = lw if k == lab else 0
        if out_spk[k]:
            net -= pw
        x = ep[k] + net
        p = 1 if x >= thr else 0
        ep[k] = x - thr if p else (x if x > 0 else 0)
        ep_spk[k] = p
        x = en[k] - net
        m = 1 if x >= thr else 0
        en[k] = x - thr if m else (x if x > 0 else 0)
        en_spk[k] = m
        if p != m:
            ks[ne] = k
            es[ne] = 1 if p else 255
            ne += 1
    return ne


def dendrites(U, n, G, ks, es, ne, dend_shift, smin, smax):
    """Phase 5, hidden layer (see erbp_mp_viper.dendrites)."""
    kd = (1 << dend_shift) - 1
    for i in range(n):
        u = U[i]
        if u > 0:
            u -= (u + kd) >> dend_shift
        elif u < 0:
            u += (kd - u) >> dend_shift
        for q in range(ne):
            if es[q] == 1:
                u += G[ks[q] * n + i]
            else:
                u -= G[ks[q] * n + i]
        if u < smin:
            u = smin
        elif u > smax:
            u = smax
        U[i] = u


def readout(R, I, n):
    """Phase 4, the readout sums: R[k] += I[k] (R int32: |R| <= 32768 * 65535)."""
    for k in range(n):
        R[k] += I[k]


def argmax(S, n):
    """The prediction: the index of the highest of the int32 scores S[:n], lowest on ties."""
    best = 0
    top = S[0]
    for k in range(1, n):
        if S[k] > top:
            top = S[k]
            best = k
    return best


def exit_check(S, n, margin):
    """The early exit: 1 if the highest of the int32 scores S[:n] (n >= 2) leads the second
    highest (a tie of two leaders: 0) by margin or more (0 < margin < 2^31), else 0. Written as
    the viper kernel, where top - second can pass 2^31."""
    top = S[0]
    second = S[1]
    if second > top:
        top = S[1]
        second = S[0]
    for k in range(2, n):
        s = S[k]
        if s > top:
            second = top
            top = s
        elif s > second:
            second = s
    if top >= 0 and second < 0:  # the lead may pass 2^31: compare its parts
        if margin <= top:
            return 1
        return 1 if -second >= margin - top else 0
    return 1 if top - second >= margin else 0
