"""One L1 repeater block: repeater bytes, block config, two test ports, time counter
(spec hicann-digital.md §2.2-2.6, §11.1).

A block holds 32 (centre) or 64 (top/bottom) repeaters, indexed here by their **physical address**
(§2.6; :func:`bss1.models.coords.repeater_line` gives the SW line). Each repeater joins the local
line (``local``, the full value of the line on this chip) with the neighbour chip's line at the
block's edge (``remote``, the neighbour's raw line value, :data:`REPEATER_EDGE`).

Behaviour per repeater byte (fields of :data:`bss1.rtl.registers.REPEATER`):

* ``dir`` (bit 4) drives into this chip (``inward`` -> the local line), ``recen`` (bit 5) drives
  towards the neighbour (``outward`` -> the neighbour's line).
* The driven value is the test-port playback of the repeater's port, or for the 8 sending repeaters
  the DNC merger output (``dnc``), when ``tinen`` (bit 6) is set; otherwise it is the forwarded
  line: ``remote`` for ``dir``, ``local`` for ``recen``.
* A repeater *receives* ``remote`` (``dir``) and/or ``local`` (``recen``); with ``tinen`` it
  receives its own injected stream instead (LOOPBACK: test output -> test input). With ``touten``
  (bit 7) the received events go to the capture buffer of the repeater's test port.
* Block config ``dllresetb`` = 0 holds the DLLs in reset: the block receives nothing (no
  forwarding, no capture); injection (``tinen``) still drives. Modelling choice: the DLLs lock in
  the cycle they are released (no locking traffic is needed). ``drvresetb`` = 0: nothing is driven.
* Every drive passes ``hop_latency`` register stages (one repeater hop = regeneration).

Test ports (§2.5): a free-running 10-bit time counter on the core clock. Capture: while
``start_tdiN`` = 1 and fewer than 3 events are held, each event received by a ``touten`` repeater
of port N is stored as ``{gray(time)[9:0], addr[5:0]}`` (the testport word layout); after the
third the port's full flag is set. Writing the config register with ``start_tdiN`` = 0 clears the
port's capture words and full flag (so re-arming needs a write of 0, then 1, as halbe does).
Playback (spec conflict #16, our choice): an entry's time field is the **delay in core cycles after
the previous emitted entry** (for entry 0: after the write that set ``start_tdoN``); 0 means 1024.
The port loops over its 3 entries while ``start_tdoN`` = 1; a 0 -> 1 write restarts at entry 0.

Bus: local addresses per the block's :class:`~bss1.rtl.regmap.BlockType`. The 16-bit testport
words occupy two byte addresses each (low byte at the register's address, high byte at +1).
SRAM timing registers are plain R/W storage (accesses always take one cycle); their reset values
are the chip power-up defaults (8, 1, 1) - spec conflict #15, the software default (64, 8, 8) is
written by the host.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..models import coords
from .bus import BusSignature, slave_access
from .l1 import N_CHANNELS, l1_array
from .registers import HICANN_MAP, REPEATER

__all__ = ["RepeaterBlock", "REPEATER_EDGE", "TIMING_RESET", "repeater_block_lines",
           "repeater_block_ports",
           "sending_addresses", "testport_layout", "pipeline"]

# Edge of the chip at which the repeaters of a block sit (§2.3: a left H repeater joins local y
# with the west chip's y - 2, a top V repeater joins local v with the north chip's north(v), ...).
REPEATER_EDGE = {"top_left": "north", "top_right": "north", "center_left": "west",
                 "center_right": "east", "bottom_left": "south", "bottom_right": "south"}

# Chip power-up SRAM timings (read_delay, setup_precharge, write_delay), spec conflict #15.
TIMING_RESET = (8, 1, 1)

EV = 7   # bits per L1 event in an l1_array: valid at bit 0, addr at bits 6:1


def repeater_block_lines(block: str) -> list[int]:
    """SW line index (HLine for centre blocks, VLine otherwise) per physical address."""
    if block not in REPEATER_EDGE:
        raise ValueError(f"repeater block {block!r} not one of {', '.join(REPEATER_EDGE)}")
    n = HICANN_MAP["repeater_" + block].type.reg("repeater").count
    return [coords.repeater_line(block, p)[1] for p in range(n)]


def repeater_block_ports(block: str) -> list[int]:
    """Test port (0/1) per physical address (with the HICANN v2 bottom-block swap)."""
    lines = repeater_block_lines(block)
    if block.startswith("center"):
        return [coords.testport_of_hline(y) for y in lines]
    return [coords.testport_of_vline(v) for v in lines]


def sending_addresses(block: str) -> dict[int, int]:
    """{physical address: HW DNC channel} of the sending repeaters in ``block``."""
    if block != "center_left":
        return {}
    return {coords.sending_repeater_address(c): c for c in range(N_CHANNELS)}


def testport_layout(block_type):
    """(register, time lsb, time width, addr width) of the testport word; time is contiguous."""
    tp = block_type.reg("testport")
    f_addr, f_lo, f_hi = tp.field("addr"), tp.field("time_lo"), tp.field("time_hi")
    assert f_addr.lsb == 0 and f_lo.lsb + f_lo.width == f_hi.lsb and tp.width % 8 == 0
    assert tp.stride == tp.width // 8, "testport bytes must tile the register stride"
    return tp, f_lo.lsb, f_lo.width + f_hi.width, f_addr.width


def pipeline(m: Module, value, stages: int, name: str):
    """``value`` delayed by ``stages`` (>= 1) register stages (one wide register per stage)."""
    for s in range(stages):
        reg = Signal(len(value), name=f"{name}_q{s}")
        m.d.sync += reg.eq(value)
        value = reg
    return value


class RepeaterBlock(wiring.Component):
    """Gateware of one repeater block.

    Parameters
    ----------
    block : str
        ``"top_left"``, ..., ``"bottom_right"`` (:data:`bss1.models.coords.REPEATER_BLOCKS`).
    hop_latency : int
        Register stages per repeater hop (>= 1).

    Members
    -------
    bus : In(BusSignature())
        Local addresses of the block (see module docstring).
    local, remote : In(l1_array(n))
        Per physical address: the local line value and the neighbour's raw line value. Inputs must
        carry ``addr`` = 0 when ``valid`` = 0 (the fabric normalises its ports).
    dnc : In(l1_array(8))
        Centre-left block only: DNC merger outputs by HW channel (sending repeaters).
    inward, outward : Out(l1_array(n))
        Registered drives onto the local line / the neighbour's line.
    full : Out(2)
        Capture-buffer full flags (the status register), for monitors.
    """

    def __init__(self, block: str, *, hop_latency: int = 1):
        if not isinstance(hop_latency, int) or hop_latency < 1:
            raise ValueError(f"hop_latency {hop_latency!r} out of range 1..")
        self.lines = repeater_block_lines(block)
        self.block = block
        self.instance = "repeater_" + block
        self.block_type = HICANN_MAP[self.instance].type
        self.hop_latency = hop_latency
        self.n = n = len(self.lines)
        self.ports = repeater_block_ports(block)
        self.sending = sending_addresses(block)
        members = {
            "bus": In(BusSignature()),
            "local": In(l1_array(n)), "remote": In(l1_array(n)),
            "inward": Out(l1_array(n)), "outward": Out(l1_array(n)),
            "full": Out(2),
        }
        if self.sending:
            members["dnc"] = In(l1_array(N_CHANNELS))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        bt = self.block_type
        n = self.n
        r_rep, r_cfg, r_status = bt.reg("repeater"), bt.reg("config"), bt.reg("status")
        r_tr, r_tsw = bt.reg("timing_read"), bt.reg("timing_setup_write")
        tp, t_lsb, t_width, a_width = testport_layout(bt)
        n_entries = tp.count // 2          # per port
        word = tp.width

        rep_cfg = Signal(n * 8, name="rep_cfg")
        cfg = Signal(8, name="block_cfg")
        tdo = Signal(tp.count * word, name="tdo")      # playback words
        tdi = Signal(tp.count * word, name="tdi")      # capture words
        t_read = Signal(8, name="timing_read", init=TIMING_RESET[0])
        t_sw = Signal(8, name="timing_setup_write",
                      init=r_tsw.encode(setup_precharge=TIMING_RESET[1],
                                        write_delay=TIMING_RESET[2]))
        time = Signal(t_width, name="time")
        m.d.sync += time.eq(time + 1)
        gray = time ^ (time >> 1)

        def cfg_bit(name):
            return cfg[r_cfg.field(name).lsb]

        dll, drv = cfg_bit("dllresetb"), cfg_bit("drvresetb")

        # -- playback (per port) -----------------------------------------------------------------
        playback = []
        for port in range(2):
            running = cfg_bit(f"start_tdo{port}")
            idx = Signal(2, name=f"pb{port}_idx")
            wait = Signal(t_width, name=f"pb{port}_wait")
            words = [tdo[(port * n_entries + e) * word:][:word] for e in range(n_entries)]
            cur = Mux(idx == 1, words[1], Mux(idx == 2, words[2], words[0]))
            nxt = Mux(idx == 0, 1, Mux(idx == 1, 2, 0))
            nxt_word = Mux(idx == 0, words[1], Mux(idx == 1, words[2], words[0]))
            emit = Signal(name=f"pb{port}_emit")
            m.d.comb += emit.eq(running & (wait == 0))
            ev = Signal(EV, name=f"pb{port}_event")
            m.d.comb += ev.eq(Mux(emit, Cat(Const(1, 1), cur[:a_width]), 0))
            with m.If(emit):
                m.d.sync += [idx.eq(nxt), wait.eq(nxt_word[t_lsb:t_lsb + t_width] - 1)]
            with m.Elif(running):
                m.d.sync += wait.eq(wait - 1)
            playback.append((ev, idx, wait, words))

        # -- repeaters ---------------------------------------------------------------------------
        f_dir, f_recen = REPEATER.field("dir").lsb, REPEATER.field("recen").lsb
        f_tinen, f_touten = REPEATER.field("tinen").lsb, REPEATER.field("touten").lsb
        local, remote = self.local.as_value(), self.remote.as_value()
        drive_in, drive_out, recv = [], [], [[], []]
        for p in range(n):
            b = rep_cfg[8 * p:8 * p + 8]
            if p in self.sending:
                inj = self.dnc.as_value()[EV * self.sending[p]:][:EV]
            else:
                inj = playback[self.ports[p]][0]
            loc, rem = local[EV * p:][:EV], remote[EV * p:][:EV]
            tinen = b[f_tinen]
            drive_in.append(Mux(drv & b[f_dir], Mux(tinen, inj, Mux(dll, rem, 0)), 0))
            drive_out.append(Mux(drv & b[f_recen], Mux(tinen, inj, Mux(dll, loc, 0)), 0))
            recv[self.ports[p]].append(
                Mux(dll & b[f_touten],
                    Mux(tinen, inj, Mux(b[f_dir], rem, 0) | Mux(b[f_recen], loc, 0)), 0))
        m.d.comb += [
            self.inward.as_value().eq(pipeline(m, Cat(*drive_in), self.hop_latency, "inward")),
            self.outward.as_value().eq(pipeline(m, Cat(*drive_out), self.hop_latency, "outward")),
        ]

        # -- capture (per port) ------------------------------------------------------------------
        fulls = []
        for port in range(2):
            received = Signal(EV, name=f"tdi{port}_received")
            acc = Const(0, EV)
            for r in recv[port]:
                acc = acc | r
            m.d.comb += received.eq(acc)
            count = Signal(2, name=f"tdi{port}_count")
            full = count == n_entries
            fulls.append(full)
            with m.If(cfg_bit(f"start_tdi{port}") & ~full & received[0]):
                m.d.sync += count.eq(count + 1)
                for e in range(n_entries):
                    with m.If(count == e):
                        m.d.sync += tdi[(port * n_entries + e) * word:][:word].eq(
                            Cat(received[1:1 + a_width], gray))
            playback[port] = playback[port] + (count,)
        status = Cat(*fulls)
        m.d.comb += self.full.eq(status)

        # -- bus slave ---------------------------------------------------------------------------
        bus = self.bus
        addr, wdata = bus.addr, bus.wdata
        do = slave_access(m, bus)
        rdata, err = Signal(32, name="rdata"), Signal(name="err")
        m.d.comb += [bus.rdata.eq(rdata), bus.err.eq(err)]
        rep_hit = (addr >= r_rep.offset) & (addr < r_rep.end)
        rep_idx = (addr - r_rep.offset)[:(n - 1).bit_length()]
        tp_lo = tp.offset
        tp_hi = tp.offset + tp.count * tp.stride
        tp_hit = (addr >= tp_lo) & (addr < tp_hi)
        tp_byte = (addr - tp_lo)[:(tp.count * tp.stride - 1).bit_length()]
        cfg_hit = addr == r_cfg.offset
        tr_hit, tsw_hit = addr == r_tr.offset, addr == r_tsw.offset
        assert r_status.offset == r_cfg.offset
        with m.If(do):
            m.d.sync += err.eq(~(rep_hit | tp_hit | cfg_hit | tr_hit | tsw_hit))
            with m.If(rep_hit):
                m.d.sync += rdata.eq(rep_cfg.word_select(rep_idx, 8))
            with m.Elif(tp_hit):
                m.d.sync += rdata.eq(tdi.word_select(tp_byte, 8))
            with m.Elif(cfg_hit):
                m.d.sync += rdata.eq(status)
            with m.Elif(tr_hit):
                m.d.sync += rdata.eq(t_read)
            with m.Elif(tsw_hit):
                m.d.sync += rdata.eq(t_sw)
            with m.Else():
                m.d.sync += rdata.eq(0)
            with m.If(bus.we):
                with m.If(rep_hit):
                    m.d.sync += rep_cfg.word_select(rep_idx, 8).eq(wdata[:8])
                with m.If(tp_hit):
                    m.d.sync += tdo.word_select(tp_byte, 8).eq(wdata[:8])
                with m.If(tr_hit):
                    m.d.sync += t_read.eq(wdata[:8])
                with m.If(tsw_hit):
                    m.d.sync += t_sw.eq(wdata[:8])
                with m.If(cfg_hit):
                    m.d.sync += cfg.eq(wdata[:8])
                    # side effects of the config write win over this cycle's port activity
                    for port in range(2):
                        _, idx, wait, words, count = playback[port]
                        tdo_bit = r_cfg.field(f"start_tdo{port}").lsb
                        tdi_bit = r_cfg.field(f"start_tdi{port}").lsb
                        with m.If(wdata[tdo_bit] & ~cfg[tdo_bit]):
                            m.d.sync += [idx.eq(0),
                                         wait.eq(words[0][t_lsb:t_lsb + t_width] - 1)]
                        with m.If(~wdata[tdi_bit]):
                            m.d.sync += [count.eq(0),
                                         tdi[port * n_entries * word:]
                                         [:n_entries * word].eq(0)]
        return m
