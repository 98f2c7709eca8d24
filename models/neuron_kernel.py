"""Compiled inner loop of :class:`bss1.models.neuron.NeuronArray` (numba).

The array is cut into chunks of at most ``LANES`` neurons of one size K (all neurons of a chunk
have K denmems). Neurons are independent inside a window (every input of the window is known in
advance), so the kernel takes one chunk through the whole window before it moves to the next:
the chunk's parameters and state sit in two small work buffers that stay in the L1/L2 cache.

Work buffers (flat arrays of the state dtype): ``nrn`` holds ``N_NRN`` neuron fields of
``LANES`` values each (field f of lane m at ``f * LANES + m``); ``den`` holds K blocks of
``N_DEN`` denmem fields (field f of the kk-th denmem of lane m at ``kk * DEN_BLOCK + f * LANES
+ m``). Field offsets are compile-time multiples of ``LANES`` and every index is visibly
non-negative, so the compiler sees that the loads and stores of one lane loop never overlap
(one runtime check between the two buffers) and vectorises the loops over lanes. Lanes past
the chunk's last neuron hold zeros: they integrate a neuron without currents and never fire.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.extending import overload

__all__ = ["LANES", "DEN_FIELDS", "NRN_FIELDS", "den_offset", "constants", "run_chunks",
           "bucket_order", "window_inputs"]

LANES = 64

# per-denmem fields: parameters (loaded from ``par_d`` rows in this order), then state
DEN_FIELDS = ("gL", "EL", "gLDT", "iDT", "VT", "a", "itw", "alg", "b", "E0", "E1", "dec0",
              "dec1", "Iext", "iext", "w", "g0", "g1", "dw1")
N_DEN_PAR = 14                  # rows of par_d: gL .. Iext
F_IEXT0, F_IEXT, F_W, F_G0, F_G1, F_DW1 = 13, 14, 15, 16, 17, 18
N_DEN = len(DEN_FIELDS)
DEN_BLOCK = N_DEN * LANES
# per-neuron fields
NRN_FIELDS = ("V", "vs", "vr", "inv_c", "ref_steps", "ref", "act", "vc", "acc1", "acc2")
F_V, F_VS, F_VR, F_INVC, F_REFSTEPS, F_REF, F_ACT, F_VC, F_ACC1, F_ACC2 = range(10)
N_NRN = len(NRN_FIELDS)
NRN_BLOCK = N_NRN * LANES

_FAST = {"nsz", "arcp", "contract", "reassoc"}

_EXP_CLIP = (-60.0, 80.0)
_EXP_COEF = tuple(1.0 / np.prod(np.arange(1, k + 1, dtype=float)) for k in range(13))
# Synaptic conductances that decay below this are set to 0: they carry less than 1e-30 A, and
# keeping them would drive the arithmetic into subnormal numbers, which x86 cores process at a
# fraction of the normal speed (after ~7000 silent steps in float32, ~70000 in float64).
G_FLOOR = 1e-30


def constants(dtype) -> np.ndarray:
    """Constants of the kernel in the state dtype (so float32 stays float32 inside): those of
    :func:`_exp`, then ``G_FLOOR``."""
    return np.array(_EXP_CLIP + (1.0 / 256.0,) + _EXP_COEF + (G_FLOOR,), dtype=dtype)


def den_offset(kk, field, lane):
    """Work-buffer offset of a denmem field (numpy helper for the caller)."""
    return kk * DEN_BLOCK + field * LANES + lane


def _taylor(y, e):
    """Taylor polynomial of exp(y), |y| <= 0.3125, from the coefficients e[3:]: degree 12 in
    float64 (truncation error 7e-17), degree 6 in float32 (5e-8, below its rounding)."""


@overload(_taylor, inline="always", fastmath=_FAST)
def _taylor_impl(y, e):
    if y == numba.types.float32:
        def taylor(y, e):
            return e[3] + y * (e[4] + y * (e[5] + y * (e[6] + y * (e[7] + y * (
                e[8] + y * e[9])))))
    else:
        def taylor(y, e):
            return e[3] + y * (e[4] + y * (e[5] + y * (e[6] + y * (e[7] + y * (e[8] + y * (
                e[9] + y * (e[10] + y * (e[11] + y * (e[12] + y * (
                    e[13] + y * (e[14] + y * e[15])))))))))))
    return taylor


@numba.njit(cache=True, inline="always", fastmath=_FAST)
def _exp(x, e):
    """exp(x) for x clipped to [-60, 80] by a Taylor polynomial of x / 256 squared eight times:
    relative error below 1e-13 in float64, below 4e-5 in float32 (the squarings amplify the
    rounding of y; the polynomial's own error is smaller). The clip changes the exponential
    current by less than 1e-26 of g_L Delta_T below, and only above (V_spike - V_T) / Delta_T
    = 80, where V diverges within a step anyway. Unlike ``math.exp``
    it vectorises. ``e``: the first 16 of :func:`constants`."""
    q = _taylor(min(max(x, e[0]), e[1]) * e[2], e)
    for _ in range(8):
        q = q * q
    return q


@numba.njit(cache=True, nogil=True)
def bucket_order(key, n_buckets):
    """Stable counting sort: (permutation sorting ``key`` (0 <= key < n_buckets), bucket start
    offsets of length n_buckets + 1)."""
    ptr = np.zeros(n_buckets + 1, np.int64)
    for k in key:
        ptr[k + 1] += 1
    for b in range(n_buckets):
        ptr[b + 1] += ptr[b]
    fill = ptr[:-1].copy()
    out = np.empty(key.size, np.int64)
    for i in range(key.size):
        k = key[i]
        out[fill[k]] = i
        fill[k] += 1
    return out, ptr


@numba.njit(cache=True, nogil=True)
def window_inputs(cyc, den, inp, dg, c1, den_chunk, den_off, n_chunks, ev_g):
    """Split queued inputs at cycle c1 and bucket those before it by chunk, keeping arrival
    order (``run_chunks`` sorts each chunk's inputs by cycle when it takes the chunk). Fills
    ``ev_g`` (its dtype is the state dtype; size: the number of inputs before c1) and returns
    (ev_cyc, ev_off, ev_ptr, later): per input its cycle and work-buffer offset, chunk start
    pointers, and the indices of the inputs that stay queued. ``den_chunk`` / ``den_off``:
    chunk and work-buffer offset (field 0) of every denmem; increments go to field g0 / g1."""
    n = cyc.size
    ptr = np.zeros(n_chunks + 1, np.int64)
    n_late = 0
    for i in range(n):
        if cyc[i] >= c1:
            n_late += 1
        else:
            ptr[den_chunk[den[i]] + 1] += 1
    for b in range(n_chunks):
        ptr[b + 1] += ptr[b]
    fill = ptr[:-1].copy()
    m = n - n_late
    ev_cyc = np.empty(m, np.int64)
    ev_off = np.empty(m, np.int64)
    later = np.empty(n_late, np.int64)
    n_late = 0
    for i in range(n):
        if cyc[i] >= c1:
            later[n_late] = i
            n_late += 1
            continue
        d = den[i]
        j = fill[den_chunk[d]]
        fill[den_chunk[d]] += 1
        ev_cyc[j] = cyc[i]
        ev_off[j] = den_off[d] + (F_G0 + inp[i]) * LANES
        ev_g[j] = dg[i]
    return ev_cyc, ev_off, ptr, later


@numba.njit(cache=True, nogil=True)
def _sort_by_cycle(ev_cyc, ev_off, ev_g, a, b, c0, c1, cnt, s_cyc, s_off, s_g):
    """Stable sort of inputs a..b-1 by cycle into s_* (counting sort over the window's cycles,
    or merge sort when they are few). Returns False (nothing written) if already sorted."""
    done = True
    for j in range(a + 1, b):
        if ev_cyc[j] < ev_cyc[j - 1]:
            done = False
            break
    if done:
        return False
    span = c1 - c0
    if 4 * (b - a) + 64 >= span:
        cnt[:span + 1] = 0
        for j in range(a, b):
            cnt[ev_cyc[j] - c0 + 1] += 1
        for k in range(span):
            cnt[k + 1] += cnt[k]
        for j in range(a, b):
            k = cnt[ev_cyc[j] - c0]
            cnt[ev_cyc[j] - c0] += 1
            s_cyc[k], s_off[k], s_g[k] = ev_cyc[j], ev_off[j], ev_g[j]
    else:
        o = np.argsort(ev_cyc[a:b], kind="mergesort") + a
        for k in range(b - a):
            s_cyc[k], s_off[k], s_g[k] = ev_cyc[o[k]], ev_off[o[k]], ev_g[o[k]]
    return True


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def run_chunks(lo, hi, chunks, S, c0, c1, dt, half, ec, par_d, w, g0, g1, par_n, V, ref_left,
               ev_ptr, ev_cyc, ev_off, ev_g, st_ptr, st_off, st_row, st_table, rc_ptr, rc_lane,
               rc_row, rec_out):
    """Chunks lo..hi-1 through cycles c0..c1-1; returns (steps, flat neurons) of the spikes.

    ``chunks[ch]`` = (K, lanes used, flat position of its first denmem, stride between the
    denmems of one neuron, flat index of its first neuron). ``par_d`` (N_DEN_PAR x denmems) and
    ``par_n`` (vs, vr, inv_c, ref_steps x neurons) are the parameters in slot order; ``w``,
    ``g0``, ``g1``, ``V``, ``ref_left`` the state, updated in place. Inputs of chunk ch are
    entries ev_ptr[ch]..ev_ptr[ch+1]-1 in arrival order, with their work-buffer offset;
    current stimulus: entries st_ptr[ch].. give the offset of a denmem and its row of
    ``st_table`` (row x cycle - c0); recording: rc_ptr[ch].. give lane and row of ``rec_out``.

    One step is the Heun step of the module docstring of ``models.neuron``; branch-free per
    denmem: refractory neurons integrate with their derivative multiplied by 0 (V held at
    V_reset); tau_w = 0 makes w algebraic (alg = 1: w = a (Vc - E_L)); delta_T = 0 has
    gLDT = iDT = 0 (no exponential current)."""
    L = LANES
    zero = dt - dt
    one = zero + dt / dt
    big = ec[1] * ec[1] * ec[1]
    e = (ec[0], ec[1], ec[2], ec[3], ec[4], ec[5], ec[6], ec[7], ec[8], ec[9], ec[10], ec[11],
         ec[12], ec[13], ec[14], ec[15])      # in registers: no reload inside the lane loops
    g_floor = ec[16]
    kmax = 1
    for ch in range(lo, hi):
        kmax = max(kmax, chunks[ch, 0])
    nrn = np.zeros(NRN_BLOCK, dtype=w.dtype)
    den = np.zeros(kmax * DEN_BLOCK, dtype=w.dtype)
    cap = 1024
    out_step = np.empty(cap, np.int64)
    out_nrn = np.empty(cap, np.int64)
    n_sp = 0
    n_ev = 0                            # scratch for sorting a chunk's inputs by cycle
    for ch in range(lo, hi):
        n_ev = max(n_ev, ev_ptr[ch + 1] - ev_ptr[ch])
    s_cyc = np.empty(n_ev, np.int64)
    s_off = np.empty(n_ev, np.int64)
    s_g = np.empty(n_ev, ev_g.dtype)
    cnt = np.empty(c1 - c0 + 1, np.int64)
    for ch in range(lo, hi):
        K, nb, dbase, stride, nbase = (chunks[ch, 0], chunks[ch, 1], chunks[ch, 2],
                                       chunks[ch, 3], chunks[ch, 4])
        nrn[:] = zero
        den[:K * DEN_BLOCK] = zero
        for m in range(nb, L):
            nrn[F_VS * L + m] = big        # idle lanes never fire
        for kk in range(K):
            row = kk * DEN_BLOCK
            for m in range(nb):
                i = dbase + kk * stride + m
                for f in range(N_DEN_PAR):
                    den[row + f * L + m] = par_d[f, i]
                den[row + F_IEXT * L + m] = par_d[F_IEXT0, i]
                den[row + F_W * L + m] = w[i]
                den[row + F_G0 * L + m] = g0[i]
                den[row + F_G1 * L + m] = g1[i]
        for m in range(nb):
            j = nbase + m
            nrn[F_V * L + m] = V[j]
            nrn[F_VS * L + m] = par_n[0, j]
            nrn[F_VR * L + m] = par_n[1, j]
            nrn[F_INVC * L + m] = par_n[2, j]
            nrn[F_REFSTEPS * L + m] = par_n[3, j]
            nrn[F_REF * L + m] = ref_left[j]
        use_exp = False
        for kk in range(K):
            for m in range(nb):
                use_exp |= den[kk * DEN_BLOCK + 2 * L + m] != zero
        p, p1 = ev_ptr[ch], ev_ptr[ch + 1]
        e_cyc, e_off, e_g = ev_cyc, ev_off, ev_g
        if _sort_by_cycle(ev_cyc, ev_off, ev_g, p, p1, c0, c1, cnt, s_cyc, s_off, s_g):
            e_cyc, e_off, e_g = s_cyc, s_off, s_g
            p, p1 = 0, p1 - p
        s0, s1 = st_ptr[ch], st_ptr[ch + 1]
        r0, r1 = rc_ptr[ch], rc_ptr[ch + 1]
        for c in range(c0, c1):
            while p < p1 and e_cyc[p] <= c:
                den[e_off[p]] += e_g[p]
                p += 1
            for s in range(s0, s1):
                o = st_off[s]
                den[o + F_IEXT * L] = den[o + F_IEXT0 * L] + st_table[st_row[s], c - c0]
            if n_sp + S * nb > cap:
                cap = 2 * cap + S * nb
                out_step = _grow(out_step, n_sp, cap)
                out_nrn = _grow(out_nrn, n_sp, cap)
            for k in range(S):
                step = c * S + k
                for r in range(r0, r1):
                    rec_out[rc_row[r], step - c0 * S] = nrn[F_V * L + rc_lane[r]]
                n_sp = _step(nrn, den, K, dt, half, zero, one, e, g_floor, use_exp, nb, step,
                             nbase, out_step, out_nrn, n_sp)
        for kk in range(K):
            row = kk * DEN_BLOCK
            for m in range(nb):
                i = dbase + kk * stride + m
                w[i] = den[row + F_W * L + m]
                g0[i] = den[row + F_G0 * L + m]
                g1[i] = den[row + F_G1 * L + m]
        for m in range(nb):
            V[nbase + m] = nrn[F_V * L + m]
            ref_left[nbase + m] = np.int64(nrn[F_REF * L + m])
    return out_step[:n_sp], out_nrn[:n_sp]


@numba.njit(cache=True, nogil=True)
def _grow(a, n, cap):
    b = np.empty(cap, a.dtype)
    b[:n] = a[:n]
    return b


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _step(nrn, den, K, dt, half, zero, one, ec, g_floor, use_exp, nb, step, nbase, out_step,
          out_nrn, n_sp):
    """One Heun step of one chunk (lanes below nb rounded up to a multiple of 16); returns
    the new spike count. ``use_exp``:
    some denmem of the chunk has an exponential current (the lane loops are compiled in two
    versions, with and without it)."""
    L = LANES
    nl = min(L, (nb + 15) // 16 * 16)
    V, VS, VR, INVC = F_V * L, F_VS * L, F_VR * L, F_INVC * L
    REF, ACT, VC, ACC1, ACC2 = F_REF * L, F_ACT * L, F_VC * L, F_ACC1 * L, F_ACC2 * L
    for m in range(nl):
        on = nrn[REF + m] == zero
        v = nrn[V + m] if on else nrn[VR + m]
        nrn[ACT + m] = one if on else zero
        nrn[V + m] = v
        nrn[VC + m] = min(v, nrn[VS + m])
        nrn[ACC1 + m] = zero
    for kk in range(K):
        r = kk * DEN_BLOCK
        for m in range(nl):
            vc = nrn[VC + m]
            el = den[r + 1 * L + m]
            w = den[r + F_W * L + m]
            wa = den[r + 5 * L + m] * (vc - el)
            wi = w + den[r + 7 * L + m] * (wa - w)
            cur = den[r + 0 * L + m] * (el - vc) - wi \
                + den[r + F_G0 * L + m] * (den[r + 9 * L + m] - vc) \
                + den[r + F_G1 * L + m] * (den[r + 10 * L + m] - vc) + den[r + F_IEXT * L + m]
            if use_exp:
                cur += den[r + 2 * L + m] * _exp((vc - den[r + 4 * L + m]) * den[r + 3 * L + m],
                                                 ec)
            nrn[ACC1 + m] += cur
            den[r + F_DW1 * L + m] = (wa - wi) * den[r + 6 * L + m]
    for m in range(nl):
        vp = nrn[V + m] + dt * nrn[ACC1 + m] * nrn[INVC + m] * nrn[ACT + m]
        nrn[VC + m] = min(vp, nrn[VS + m])
        nrn[ACC2 + m] = zero
    for kk in range(K):
        r = kk * DEN_BLOCK
        for m in range(nl):
            vc = nrn[VC + m]
            el = den[r + 1 * L + m]
            w = den[r + F_W * L + m]
            alg = den[r + 7 * L + m]
            itw = den[r + 6 * L + m]
            dw1 = den[r + F_DW1 * L + m]
            h0 = den[r + F_G0 * L + m] * den[r + 11 * L + m]
            h1 = den[r + F_G1 * L + m] * den[r + 12 * L + m]
            h0 = h0 if h0 >= g_floor else zero
            h1 = h1 if h1 >= g_floor else zero
            wa = den[r + 5 * L + m] * (vc - el)
            wp = w + dt * dw1
            wp = wp + alg * (wa - wp)
            den[r + F_W * L + m] = w + half * (dw1 + (wa - wp) * itw) + alg * (wa - w)
            cur = den[r + 0 * L + m] * (el - vc) - wp + h0 * (den[r + 9 * L + m] - vc) \
                + h1 * (den[r + 10 * L + m] - vc) + den[r + F_IEXT * L + m]
            if use_exp:
                cur += den[r + 2 * L + m] * _exp((vc - den[r + 4 * L + m]) * den[r + 3 * L + m],
                                                 ec)
            nrn[ACC2 + m] += cur
            den[r + F_G0 * L + m] = h0
            den[r + F_G1 * L + m] = h1
    fired = zero
    for m in range(nl):
        act = nrn[ACT + m]
        v = nrn[V + m]
        vn = v + half * (nrn[ACC1 + m] + nrn[ACC2 + m]) * nrn[INVC + m]
        nrn[V + m] = vn if act != zero else v
        nrn[REF + m] = nrn[REF + m] - (one - act)
        fired += act if vn >= nrn[VS + m] else zero
    if fired != zero:
        for m in range(nb):
            if nrn[ACT + m] != zero and nrn[V + m] >= nrn[VS + m]:
                nrn[V + m] = nrn[VR + m]
                nrn[REF + m] = nrn[F_REFSTEPS * L + m]
                for kk in range(K):
                    r = kk * DEN_BLOCK
                    den[r + F_W * L + m] += den[r + 8 * L + m]
                out_step[n_sp] = step
                out_nrn[n_sp] = nbase + m
                n_sp += 1
    return n_sp
