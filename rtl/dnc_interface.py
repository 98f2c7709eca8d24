"""The HICANN's layer-2 (DNC) interface between the off-chip link and the DNC mergers (spec
hicann-digital.md §7.4, §7.6, §8.1-8.5, §11; host-stack.md §0 clock domains).

Outside: ``l2_in`` (pulses from the DNC/FPGA, :data:`L2Pulse` = {timestamp 15, addr 6, channel 3},
the DNC -> HICANN format of §8.3: bits [23:15] = {channel, L1 address}, [14:0] release time) and
``l2_out`` (timestamped pulses towards the DNC, same layout = the HICANN -> DNC format).
Inside: ``merger_in`` (into input 1 of DNC merger c, the shape of ``Hicann.l2_rx``) and
``merger_out`` (the DNC merger output registers, the shape of ``NeuronControl.dnc_out``).

Configuration: the SPL1 / GbitLink register (§8.2, ``SPL1_CONTROL.gbitlink``, write-only): per HW
channel ``enable`` and ``direction`` (1 = TO_HICANN), ``timestamp_enable``; a write with bit 31
resets the block (release buffers, wait registers, transmit queues, counters and the GbitLink
configuration; the system-time counter is not part of the block). Reads of local address n return
counter n (§8.2 "undocumented"; here :data:`SPL1_COUNTERS`, see :data:`COUNTERS`). The DNC-interface
block (``DNC_IF.link_control``, §8.5) stores its 9-bit link-control word and reads it back; its
bits have no effect here (the link itself is not modelled; §13.13 says the word is only assumed
to equal the JTAG vector).

Clock domains, choice (DESIGN decision 1 allows it): everything runs in the core domain. The
250 MHz system time is a 15-bit counter advanced by a fractional accumulator by
``k = (acc + 250) // core_mhz`` ticks per core cycle (100 MHz: 2, 3, 2, 3, ... = 2.5 on average),
so after n core cycles it holds ``floor(n * 250 / core_mhz)`` mod 2^15. A core cycle "covers" the
ticks ``systime .. systime + k - 1``.

Cycle behaviour (the model :mod:`bss1.models.dnc_interface` is cycle-identical):

* outgoing: ``merger_out[c]`` valid with channel c enabled and TO_DNC is stamped with the current
  ``systime`` (the first tick of the cycle) and queued in channel c's transmit queue
  (``tx_depth`` entries; full: dropped, counted ``tx_dropped``). A round-robin arbiter (starting
  after the channel served last) offers one queue head per cycle on ``l2_out``; it is visible the
  cycle after the capture at the earliest;
* incoming: a pulse on ``l2_in`` (always ready) for a channel that is not enabled TO_HICANN is
  dropped (``rejected``). Without ``timestamp_enable`` it is released in the same cycle
  (combinational path). With it, the pulse is dropped as ``expired`` when ``(timestamp - t)``
  mod 2^15 has bit 14 set, t = the first tick of the next cycle (§8.4: a pulse due in the present
  cycle is late because it enters the buffer only at the end of the cycle); otherwise it goes into
  the lowest free of the channel's 10 release-buffer entries (none free: ``overflow``);
* release (§8.4): an entry is due in the cycle whose ticks contain a tick with the same 10 LSBs as
  its timestamp (the 10-bit compare: a timestamp more than 1023 ticks ahead is released early, as
  in the chip). Per channel the candidates of a cycle, in order, are the wait register, an
  immediate pulse, the due entries by index: the first is written into ``merger_in[c]``, the
  second waits in the wait register for the next cycle, further ones are dropped (``collided``).
  ``merger_in`` feeds DNC merger input 1, which loses the event if occupied (counted there).

Loopback (§7.4, §7.6): the DNC-merger loopback (output of channel c ^ 1 into input 1 of merger c)
lives in the merger tree; with channel c TO_HICANN and its pair TO_DNC, a pulse received on c and
selected by DNC merger c loops into the pair's merger and leaves here timestamped on c ^ 1.

Integration: :class:`~bss1.rtl.hicann.Hicann` connects ``merger_in`` -> ``neurons.l2_rx``,
``neurons.dnc_out`` -> ``merger_out``, its own ``l2_in`` / ``l2_out`` / ``systime_reset`` /
``systime`` to the outside, and the bus slaves ``spl1_control`` and ``dnc_if`` to the tag-0
decoder (member names = instance names).
"""


from amaranth import Array, Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .arith import count_ones
from .bus import BusSignature, register_array_slave, register_hit, slave_access
from .l1 import N_CHANNELS, L1Event, l1_array
from .registers import DNC_IF, SPL1_CONTROL

__all__ = ["DncInterface", "L2Pulse", "COUNTERS", "SPL1_COUNTERS", "RELEASE_ENTRIES",
           "COMPARE_BITS", "SYSTIME_BITS", "SYSTIME_MHZ", "check_core_mhz", "systime_ticks"]

L2Pulse = data.StructLayout({"timestamp": 15, "addr": 6, "channel": 3})
RELEASE_ENTRIES = 10        # release-buffer entries per channel (§8.4)
COMPARE_BITS = 10           # timestamp LSBs compared with the system time (§8.4)
SYSTIME_BITS = 15
SYSTIME_MHZ = 250
#: Loss counters of the block, in the order of their SPL1 read address.
COUNTERS = ("expired", "overflow", "collided", "rejected", "tx_dropped")
#: Reads of SPL1 local address n return counter n (16 bit, wrapping). Not in the shared map yet.
SPL1_COUNTERS = SPL1_CONTROL.reg("counters")
assert SPL1_COUNTERS.count == len(COUNTERS)

_GBITLINK = SPL1_CONTROL.reg("gbitlink")
_LINK_CONTROL = DNC_IF.reg("link_control")


def _onehot_select(onehot, values):
    """OR of ``values[j]`` over the set bits ``j`` of ``onehot`` (at most one is set)."""
    out = 0
    for j, v in enumerate(values):
        out = out | (v & onehot[j].replicate(len(v)))
    return out


def check_core_mhz(core_mhz) -> int:
    """The core PLL frequency (§11: 100..250 MHz in 25 MHz steps)."""
    if not isinstance(core_mhz, int) or isinstance(core_mhz, bool) or \
            not 100 <= core_mhz <= 250 or core_mhz % 25:
        raise ValueError(f"core clock {core_mhz!r} MHz out of range 100..250 in steps of 25")
    return core_mhz


def systime_ticks(acc: int, core_mhz: int) -> tuple[int, int]:
    """``(ticks this core cycle, next accumulator)`` of the fractional system-time counter."""
    total = acc + SYSTIME_MHZ
    return total // core_mhz, total % core_mhz


class DncInterface(wiring.Component):
    """Layer-2 interface: GbitLink register, timestamps, release buffers, transmit queues.

    Parameters
    ----------
    core_mhz : int
        Core clock (100..250 MHz, steps of 25); sets the system-time ticks per core cycle.
    tx_depth : int
        Entries of each channel's transmit queue (1..16).

    Members
    -------
    spl1_control, dnc_if : In(BusSignature())
        Bus slaves (local addresses).
    l2_in : In(stream.Signature(L2Pulse))
        Always ready (losses are counted, never back-pressured).
    l2_out : Out(stream.Signature(L2Pulse))
    merger_in : Out(l1_array(8))
        Into input 1 of DNC merger c.
    merger_out : In(l1_array(8))
        DNC merger output registers.
    systime_reset : In(1)
        Clears the system time (and its accumulator) at the end of the cycle.
    systime : Out(15)
    enable, direction : Out(8); timestamp_enable : Out(1); link_control : Out(9)
        Configuration, for monitors.
    expired, overflow, collided, rejected, tx_dropped : Out(16)
        Loss counters (wrapping).
    """

    def __init__(self, *, core_mhz: int = 100, tx_depth: int = 4):
        try:
            self.core_mhz = check_core_mhz(core_mhz)
            if not isinstance(tx_depth, int) or isinstance(tx_depth, bool) or \
                    not 1 <= tx_depth <= 16:
                raise ValueError(f"tx_depth {tx_depth!r} out of range 1..16")
        except ValueError:
            self._MustUse__silence = True      # a rejected component is no "unused" one
            raise
        self.tx_depth = tx_depth
        members = {
            "spl1_control": In(BusSignature()),
            "dnc_if": In(BusSignature()),
            "l2_in": In(stream.Signature(L2Pulse)),
            "l2_out": Out(stream.Signature(L2Pulse)),
            "merger_in": Out(l1_array(N_CHANNELS)),
            "merger_out": In(l1_array(N_CHANNELS)),
            "systime_reset": In(1),
            "systime": Out(SYSTIME_BITS),
            "enable": Out(N_CHANNELS),
            "direction": Out(N_CHANNELS),
            "timestamp_enable": Out(1),
            "link_control": Out(_LINK_CONTROL.width),
        }
        for name in COUNTERS:
            members[name] = Out(16)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        core, depth = self.core_mhz, self.tx_depth
        enable = Signal(N_CHANNELS)
        direction = Signal(N_CHANNELS)
        ts_enable = Signal()
        block_reset = Signal()
        counters = {name: Signal(16, name=f"cnt_{name}") for name in COUNTERS}

        # -- DNC_IF link control: a plain stored register --------------------------------------
        link_control = Signal(_LINK_CONTROL.width)
        register_array_slave(m, self.dnc_if, _LINK_CONTROL, link_control)

        # -- SPL1 / GbitLink register and counter reads ----------------------------------------
        bus = self.spl1_control
        do = slave_access(m, bus)
        rdata, err = Signal(32), Signal()
        m.d.comb += [bus.rdata.eq(rdata), bus.err.eq(err)]
        word = data.View(_GBITLINK.layout, bus.wdata)
        is_cfg = bus.addr == _GBITLINK.offset
        cnt_hit, cnt_idx = register_hit(bus.addr, SPL1_COUNTERS)
        cnt_array = Array(counters[n] for n in COUNTERS)
        with m.If(do):
            with m.If(bus.we):
                m.d.sync += err.eq(~is_cfg)
                with m.If(is_cfg & ~word.reset):
                    m.d.sync += [enable.eq(word.enable), direction.eq(word.direction),
                                 ts_enable.eq(word.timestamp_enable)]
            with m.Else():
                m.d.sync += [err.eq(~cnt_hit), rdata.eq(Mux(cnt_hit, cnt_array[cnt_idx], 0))]
        m.d.comb += block_reset.eq(do & bus.we & is_cfg & word.reset)

        # -- system time -------------------------------------------------------------------------
        now = Signal(SYSTIME_BITS)
        acc = Signal(range(core))
        ticks = Signal(range(SYSTIME_MHZ // 100 + 2))
        acc_next = Signal(range(core))
        now_next = Signal(SYSTIME_BITS)
        total = Signal(range(core + SYSTIME_MHZ))
        kmax = (core - 1 + SYSTIME_MHZ) // core
        m.d.comb += total.eq(acc + SYSTIME_MHZ)
        with m.If(total < core):      # never for core <= 250; keeps the chain complete
            m.d.comb += [ticks.eq(0), acc_next.eq(total)]
        for k in range(1, kmax + 1):
            with m.Elif(total < (k + 1) * core):
                m.d.comb += [ticks.eq(k), acc_next.eq(total - k * core)]
        m.d.comb += now_next.eq(now + ticks)
        with m.If(self.systime_reset):
            m.d.sync += [now.eq(0), acc.eq(0)]
        with m.Else():
            m.d.sync += [now.eq(now_next), acc.eq(acc_next)]

        # -- incoming: rejection, expiry, release buffers, release --------------------------------
        pin = self.l2_in.payload
        m.d.comb += self.l2_in.ready.eq(1)
        delta = Signal(SYSTIME_BITS)
        m.d.comb += delta.eq(pin.timestamp - now_next)
        adds = {name: [] for name in COUNTERS}
        for c in range(N_CHANNELS):
            valid = Signal(RELEASE_ENTRIES, name=f"rb{c}_valid")
            addr = [Signal(6, name=f"rb{c}_addr{i}") for i in range(RELEASE_ENTRIES)]
            ts = [Signal(SYSTIME_BITS, name=f"rb{c}_ts{i}") for i in range(RELEASE_ENTRIES)]
            wait = Signal(L1Event, name=f"wait{c}")

            arrive = Signal(name=f"arrive{c}")
            accept = Signal(name=f"accept{c}")
            m.d.comb += [
                arrive.eq(self.l2_in.valid & (pin.channel == c)),
                accept.eq(arrive & enable[c] & direction[c]),
            ]
            rejected = arrive & ~accept
            imm = accept & ~ts_enable
            buffered = accept & ts_enable
            expired = buffered & delta[SYSTIME_BITS - 1]
            full = valid.all()
            overflow = buffered & ~delta[SYSTIME_BITS - 1] & full
            store = buffered & ~delta[SYSTIME_BITS - 1] & ~full
            adds["rejected"].append(rejected)
            adds["expired"].append(expired)
            adds["overflow"].append(overflow)

            # due entries: the 10 LSBs of the timestamp among the ticks of this cycle
            due = []
            for i in range(RELEASE_ENTRIES):
                d = Signal(COMPARE_BITS, name=f"rb{c}_dist{i}")
                m.d.comb += d.eq(ts[i][:COMPARE_BITS] - now[:COMPARE_BITS])
                due_i = Signal(name=f"rb{c}_due{i}")
                m.d.comb += due_i.eq(valid[i] & (d < ticks))
                due.append(due_i)

            # candidates in priority order (bit j = candidate j); the first goes out, the second
            # waits, further ones are dropped: lowest set bits by two's-complement arithmetic
            cands = [(wait.valid, wait.addr), (imm, pin.addr)] + \
                    [(due[i], addr[i]) for i in range(RELEASE_ENTRIES)]
            n_cand = len(cands)
            cand = Signal(n_cand, name=f"rel{c}_cand")
            rest = Signal(n_cand, name=f"rel{c}_rest")
            first = Signal(n_cand, name=f"rel{c}_first")
            second = Signal(n_cand, name=f"rel{c}_second")
            dropped = Signal(n_cand, name=f"rel{c}_dropped")
            m.d.comb += [
                cand.eq(Cat(*(cv for cv, _ in cands))),
                first.eq(cand & (~cand + 1)),
                rest.eq(cand & (cand - 1)),
                second.eq(rest & (~rest + 1)),
                dropped.eq(rest & (rest - 1)),
            ]
            out_v, out_a = Signal(name=f"rel{c}_valid"), Signal(6, name=f"rel{c}_addr")
            w_v, w_a = Signal(name=f"wait{c}_next_valid"), Signal(6, name=f"wait{c}_next_addr")
            m.d.comb += [
                out_v.eq(cand.any()), w_v.eq(rest.any()),
                out_a.eq(_onehot_select(first, [ca for _, ca in cands])),
                w_a.eq(_onehot_select(second, [ca for _, ca in cands])),
            ]
            adds["collided"].append(dropped)
            m.d.comb += [self.merger_in[c].valid.eq(out_v), self.merger_in[c].addr.eq(out_a)]
            m.d.sync += [wait.valid.eq(w_v), wait.addr.eq(w_a)]

            # buffer update: due entries leave; an arriving pulse takes the lowest free entry
            due_vec = Signal(RELEASE_ENTRIES, name=f"rb{c}_due")
            free = Signal(RELEASE_ENTRIES, name=f"rb{c}_free")
            m.d.comb += [due_vec.eq(Cat(*due)), free.eq(~valid & (valid + 1))]
            m.d.sync += valid.eq((valid & ~due_vec) | Mux(store, free, 0))
            for i in range(RELEASE_ENTRIES):
                with m.If(store & free[i]):
                    m.d.sync += [addr[i].eq(pin.addr), ts[i].eq(pin.timestamp)]
            with m.If(block_reset):
                m.d.sync += [valid.eq(0), wait.valid.eq(0)]

        # -- outgoing: timestamp capture, transmit queues, round-robin arbiter -------------------
        q_cnt = [Signal(range(depth + 1), name=f"tx{c}_count") for c in range(N_CHANNELS)]
        q_addr = [[Signal(6, name=f"tx{c}_addr{j}") for j in range(depth)]
                  for c in range(N_CHANNELS)]
        q_ts = [[Signal(SYSTIME_BITS, name=f"tx{c}_ts{j}") for j in range(depth)]
                for c in range(N_CHANNELS)]
        rr = Signal(3)
        sel = Signal(3)
        any_ready = Signal()
        nonempty = Signal(N_CHANNELS)
        m.d.comb += [nonempty.eq(Cat(*(q != 0 for q in q_cnt))), any_ready.eq(nonempty.any())]
        with m.Switch(rr):
            for r in range(N_CHANNELS):
                with m.Case(r):
                    for o in reversed(range(N_CHANNELS)):
                        c = (r + o) % N_CHANNELS
                        with m.If(nonempty[c]):
                            m.d.comb += sel.eq(c)
        head_addr = Array(q[0] for q in q_addr)
        head_ts = Array(q[0] for q in q_ts)
        out = self.l2_out.payload
        m.d.comb += [self.l2_out.valid.eq(any_ready), out.channel.eq(sel),
                     out.addr.eq(head_addr[sel]), out.timestamp.eq(head_ts[sel])]
        taken = self.l2_out.valid & self.l2_out.ready
        with m.If(taken):
            m.d.sync += rr.eq(sel + 1)
        for c in range(N_CHANNELS):
            push = self.merger_out[c].valid & enable[c] & ~direction[c]
            full = q_cnt[c] == depth
            do_push = push & ~full
            adds["tx_dropped"].append(push & full)
            pop = taken & (sel == c)
            wr_idx = Signal(range(depth + 1), name=f"tx{c}_wr")
            m.d.comb += wr_idx.eq(q_cnt[c] - pop)
            for j in range(depth):
                if j + 1 < depth:
                    with m.If(pop):
                        m.d.sync += [q_addr[c][j].eq(q_addr[c][j + 1]),
                                     q_ts[c][j].eq(q_ts[c][j + 1])]
                with m.If(do_push & (wr_idx == j)):
                    m.d.sync += [q_addr[c][j].eq(self.merger_out[c].addr),
                                 q_ts[c][j].eq(now)]
            m.d.sync += q_cnt[c].eq(q_cnt[c] + do_push - pop)
            with m.If(block_reset):
                m.d.sync += q_cnt[c].eq(0)

        # -- counters, reset, outputs ------------------------------------------------------------
        for name in COUNTERS:
            bits = [t[i] for t in adds[name] for i in range(len(t))]
            inc = Signal(range(len(bits) + 1), name=f"inc_{name}")
            m.d.comb += inc.eq(count_ones(bits))
            m.d.sync += counters[name].eq(counters[name] + inc)
        with m.If(block_reset):
            m.d.sync += [enable.eq(0), direction.eq(0), ts_enable.eq(0), rr.eq(0)]
            m.d.sync += [counters[name].eq(0) for name in COUNTERS]

        m.d.comb += [
            self.systime.eq(now), self.enable.eq(enable), self.direction.eq(direction),
            self.timestamp_enable.eq(ts_enable), self.link_control.eq(link_control),
        ]
        for name in COUNTERS:
            m.d.comb += getattr(self, name).eq(counters[name])
        return m
