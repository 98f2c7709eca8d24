"""Behavioural reference model of one repeater block (spec hicann-digital.md §2.4-2.6).

Cycle-accurate twin of :class:`bss1.rtl.repeater.RepeaterBlock` (same registers, same latencies,
same test-port semantics; see that module's docstring for the behaviour and our choices for spec
conflicts #15 and #16). Events are sparse dicts ``{physical address: addr}`` of valid events.
"""

from __future__ import annotations

from collections import deque

from ..rtl.regmap import RegisterMapError
from ..rtl.registers import HICANN_MAP, REPEATER
from ..rtl.repeater import (TIMING_RESET, repeater_block_lines, repeater_block_ports,
                            sending_addresses, testport_layout)
from . import coords

__all__ = ["RepeaterBlockModel", "or_event", "MODE_NAMES"]

_DIR = 1 << REPEATER.field("dir").lsb
_RECEN = 1 << REPEATER.field("recen").lsb
_TINEN = 1 << REPEATER.field("tinen").lsb
_TOUTEN = 1 << REPEATER.field("touten").lsb
_MODE_MASK = _DIR | _RECEN | _TINEN | _TOUTEN

# Legal mode bits (halbe, §2.4) -> mode name.
MODE_NAMES = {0: "IDLE", _DIR: "FORWARDING", _RECEN: "FORWARDING",
              _TOUTEN | _DIR: "INPUT", _TOUTEN | _RECEN: "INPUT",
              _TINEN | _DIR: "OUTPUT", _TINEN | _RECEN: "OUTPUT", _TINEN | _DIR | _RECEN: "OUTPUT",
              _TOUTEN | _TINEN: "LOOPBACK"}


def or_event(a, b):
    """OR of two optional addresses (``None`` = no event)."""
    if a is None:
        return b
    if b is None:
        return a
    return a | b


class RepeaterBlockModel:
    """One repeater block: ``write``/``read`` by local address, ``step`` per core cycle."""

    def __init__(self, block: str, hop_latency: int = 1):
        if not isinstance(hop_latency, int) or isinstance(hop_latency, bool) or hop_latency < 1:
            raise ValueError(f"hop_latency {hop_latency!r} out of range 1..")
        self.block = block
        self.lines = repeater_block_lines(block)
        self.instance = "repeater_" + block
        self.block_type = HICANN_MAP[self.instance].type
        self.size = HICANN_MAP[self.instance].size
        self.n = len(self.lines)
        self.ports = repeater_block_ports(block)
        self.sending = sending_addresses(block)
        self.tp, self.t_lsb, self.t_width, self.a_width = testport_layout(self.block_type)
        self.n_entries = self.tp.count // 2
        self.r_cfg = self.block_type.reg("config")
        self.rep = [0] * self.n
        self.cfg = 0
        self.tdo = [0] * self.tp.count
        self.tdi = [0] * self.tp.count
        self.timing_read = TIMING_RESET[0]
        self.timing_setup_write = self.block_type.reg("timing_setup_write").encode(
            setup_precharge=TIMING_RESET[1], write_delay=TIMING_RESET[2])
        self.time = 0
        self.pb_idx = [0, 0]
        self.pb_wait = [0, 0]
        self.cap_n = [0, 0]
        self.active: list[int] = []
        self._inward = deque({} for _ in range(hop_latency))
        self._outward = deque({} for _ in range(hop_latency))

    # -- configuration -----------------------------------------------------------------------------
    def cfg_bit(self, name: str) -> int:
        return (self.cfg >> self.r_cfg.field(name).lsb) & 1

    def mode(self, p: int) -> int:
        return self.rep[p] & _MODE_MASK

    def _resolve(self, local_addr: int, write: bool):
        if not isinstance(local_addr, int) or not 0 <= local_addr < self.size:
            raise RegisterMapError(f"{self.instance}: local address {local_addr!r} out of range "
                                   f"0..{self.size - 1:#x}")
        tp = self.tp
        if tp.offset <= local_addr < tp.offset + tp.count * tp.stride:
            return "testport", local_addr - tp.offset
        hit = self.block_type.lookup(local_addr, write)
        if hit is None:
            kind = "writable" if write else "readable"
            raise RegisterMapError(f"{self.instance}: no {kind} register at local address "
                                   f"{local_addr:#x}")
        return hit[0].name, hit[1]

    def write(self, local_addr: int, data: int) -> None:
        name, i = self._resolve(local_addr, True)
        if not isinstance(data, int) or not 0 <= data <= 0xFF:
            raise RegisterMapError(f"{self.instance} {name}: word {data!r} out of range 0..0xff")
        if name == "repeater":
            self.rep[i] = data
            self.active = [p for p in range(self.n) if self.rep[p] & _MODE_MASK]
        elif name == "testport":
            k, byte = divmod(i, self.tp.stride)
            shift = 8 * byte
            self.tdo[k] = (self.tdo[k] & ~(0xFF << shift)) | (data << shift)
        elif name == "timing_read":
            self.timing_read = data
        elif name == "timing_setup_write":
            self.timing_setup_write = data
        else:   # config
            old = self.cfg
            self.cfg = data
            for port in range(2):
                tdo_b = 1 << self.r_cfg.field(f"start_tdo{port}").lsb
                tdi_b = 1 << self.r_cfg.field(f"start_tdi{port}").lsb
                if data & tdo_b and not old & tdo_b:
                    self.pb_idx[port] = 0
                    self.pb_wait[port] = (self._entry_time(port, 0) - 1) % (1 << self.t_width)
                if not data & tdi_b:
                    self.cap_n[port] = 0
                    for e in range(self.n_entries):
                        self.tdi[port * self.n_entries + e] = 0

    def read(self, local_addr: int) -> int:
        name, i = self._resolve(local_addr, False)
        if name == "repeater":
            return self.rep[i]
        if name == "testport":
            k, byte = divmod(i, self.tp.stride)
            return (self.tdi[k] >> (8 * byte)) & 0xFF
        if name == "timing_read":
            return self.timing_read
        if name == "timing_setup_write":
            return self.timing_setup_write
        return self.status()

    def status(self) -> int:
        return sum(1 << port for port in range(2) if self.cap_n[port] == self.n_entries)

    def _entry_time(self, port: int, e: int) -> int:
        w = self.tdo[port * self.n_entries + e]
        return (w >> self.t_lsb) & ((1 << self.t_width) - 1)

    def captured(self, port: int) -> list[tuple[int, int]]:
        """The held capture entries of ``port`` as ``(addr, binary time)``."""
        out = []
        for e in range(self.cap_n[port]):
            w = self.tdi[port * self.n_entries + e]
            out.append((w & ((1 << self.a_width) - 1),
                        coords.gray_to_binary(w >> self.t_lsb, self.t_width)))
        return out

    # -- per cycle ---------------------------------------------------------------------------------
    def inward(self) -> dict[int, int]:
        """This cycle's registered drives onto the local lines ``{physical address: addr}``."""
        return self._inward[0]

    def outward(self) -> dict[int, int]:
        """This cycle's registered drives onto the neighbour's lines."""
        return self._outward[0]

    def playback_event(self, port: int):
        if (self.cfg >> self.r_cfg.field(f"start_tdo{port}").lsb) & 1 and self.pb_wait[port] == 0:
            w = self.tdo[port * self.n_entries + self.pb_idx[port]]
            return w & ((1 << self.a_width) - 1)
        return None

    def step(self, local: dict[int, int], remote: dict[int, int], dnc: dict[int, int]) -> None:
        """Advance one cycle. ``local``/``remote``: line values by physical address (only the
        :attr:`active` repeaters are looked up); ``dnc``: DNC merger outputs by HW channel."""
        dll, drv = self.cfg_bit("dllresetb"), self.cfg_bit("drvresetb")
        pb = [self.playback_event(0), self.playback_event(1)]
        din, dout = {}, {}
        recv = [None, None]
        for p in self.active:
            b = self.rep[p]
            inj = dnc.get(self.sending[p]) if p in self.sending else pb[self.ports[p]]
            tinen = b & _TINEN
            loc = local.get(p) if dll else None
            rem = remote.get(p) if dll else None
            if drv and b & _DIR:
                src = inj if tinen else rem
                if src is not None:
                    din[p] = src
            if drv and b & _RECEN:
                src = inj if tinen else loc
                if src is not None:
                    dout[p] = src
            if dll and b & _TOUTEN:
                if tinen:
                    r = inj
                else:
                    r = or_event(rem if b & _DIR else None, loc if b & _RECEN else None)
                recv[self.ports[p]] = or_event(recv[self.ports[p]], r)
        gray = coords.binary_to_gray(self.time)
        for port in range(2):
            n_cap = self.cap_n[port]
            if self.cfg_bit(f"start_tdi{port}") and n_cap < self.n_entries \
                    and recv[port] is not None:
                self.tdi[port * self.n_entries + n_cap] = recv[port] | (gray << self.t_lsb)
                self.cap_n[port] = n_cap + 1
            if self.cfg_bit(f"start_tdo{port}"):
                if self.pb_wait[port] == 0:
                    nxt = (self.pb_idx[port] + 1) % self.n_entries
                    self.pb_idx[port] = nxt
                    self.pb_wait[port] = (self._entry_time(port, nxt) - 1) % (1 << self.t_width)
                else:
                    self.pb_wait[port] -= 1
        self.time = (self.time + 1) % (1 << self.t_width)
        self._inward.popleft()
        self._inward.append(din)
        self._outward.popleft()
        self._outward.append(dout)
