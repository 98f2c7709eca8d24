"""HICANN configuration path of the emulated wafer-module FPGA (spec/host-stack.md §2.5): the
per-HICANN state behind the FPGA (:class:`HicannSlot`) and the routing of HICANNCONFIG frames
through the FPGA<->chip ARQ (:class:`HicannConfigPath`, a part of
:class:`~bss1.firmware.fpga_emulator.FpgaEmulator`).

Where the HICANN-ARQ runs (§2.5). The host does *not* speak the per-HICANN ARQ: its HICANNCONFIG
entries carry (DNC, HICANN, tag, write, address, data) with no sequence numbers, and responses come
back with the same addressing. The sequence-numbered FPGA<->HICANN packets exist only between the
FPGA and the chip, so the emulator runs, per HICANN, the FPGA's side of that ARQ
(:class:`~bss1.models.config_arq.HostArq`, window 16, modulus 64) against the chip's twin.

Choices where the spec is silent (each is tested):

* Entries with bits 58:50 set, DNC != 0 (one DNC per FPGA here), or a HICANN index the emulator
  does not have are dropped and counted (``malformed_entries`` / ``bad_hicann_entries``); the rest
  of their frame is processed. A read entry without data bit 31 is still a read.
* The FPGA<->chip channel is lossless and instantaneous; each frame's exchange is run to
  completion on a virtual clock (``arq_now``) before the responses are sent. ``chip_arq``
  selects how: ``"packets"`` exchanges the 64-bit packets between the FPGA's
  :class:`~bss1.models.config_arq.HostArq` and the chip's
  :class:`~bss1.models.config_arq.ConfigInterfaceModel` round by round; ``"direct"`` (default)
  lets :func:`~bss1.models.config_arq.lossless_exchange` compute the outcome of that exchange
  without building packets: the chip's bus sees the same accesses in the same order (per round
  up to 16 entries of tag 0, then up to 16 of tag 1), the responses, their order, the bus-error
  counts, ``arq_now`` and both endpoints' sequence state are the same, so the modes can be
  switched between frames. Where the endpoints are not quiescent and in sync (never after a
  completed frame), ``"direct"`` runs the packet exchange.
* Response entries keep bit 48 (write) = 0 and carry address and read data in [47:0].
"""

from __future__ import annotations

from ..host.hicann_link import MAX_ENTRIES_PER_FRAME, decode_entry
from ..models.config_arq import (ArqProtocolError, ConfigInterfaceModel, HostArq,
                                 lossless_exchange, lossless_ready)
from ..models.hicann import HicannModel
from .config_time import ClockedBus
from .experiment import HicannL2Port
from .formats import PacketType

__all__ = ["CHIP_ARQ_MODES", "HicannSlot", "HicannConfigPath"]

_ARQ_ROUNDS_BASE = 1000         # bound on FPGA<->chip exchange rounds per frame (plus per entry)
_ENTRY_RESERVED = ((1 << 9) - 1) << 50      # §2.5 entry bits 58:50
CHIP_ARQ_MODES = ("direct", "packets")


class HicannSlot:
    """One HICANN: the register model (its DNC interface twin holds the GbitLink
    configuration), its layer-2 port, its configuration-phase clocked bus, the chip's ARQ twin
    and the FPGA's side of the ARQ."""

    def __init__(self, timeout: int | None, pll_mhz: int, configuring):
        self.timeout = timeout
        self.pll_mhz = pll_mhz
        self.configuring = configuring
        self.new_chip()

    def new_chip(self) -> None:
        self.model = HicannModel(core_mhz=self.pll_mhz)
        self.port = HicannL2Port(self.model, pll_mhz=self.pll_mhz)
        self.bus = ClockedBus(self.model, self.configuring)
        self.reset_arq()

    def reset_arq(self) -> None:
        kw = {} if self.timeout is None else {"timeout": self.timeout}
        self.chip = ConfigInterfaceModel(self.bus, **kw)
        self.arq = HostArq(**kw)


class HicannConfigPath:
    """HICANNCONFIG handling of :class:`~bss1.firmware.fpga_emulator.FpgaEmulator` (a base
    class of it; not used alone). It works on the emulator's ``slots`` (:class:`HicannSlot`),
    ``n_hicanns``, ``chip_arq``, ``chip_time``, ``hicann_arq_loopback``, the virtual ARQ clock
    ``arq_now``, the counters ``malformed_entries``, ``bad_hicann_entries``, ``hicann_writes``,
    ``hicann_reads``, ``responses_sent``, ``arq_failures`` and sends with ``_send``; the caller
    holds the emulator's lock."""

    def _hicann_config(self, words: tuple) -> None:
        if self.experiment_running:
            self.chip_time.restart()
        else:
            self.chip_time.elapse([s.bus for s in self.slots])
        requests: dict[int, list] = {}      # hicann -> [(tag, write, addr, data)], first touch first
        pending = []                        # (hicann, tag, addr) of the reads in entry order
        loop = []
        n_hicanns = self.n_hicanns
        for word in words:
            if type(word) is not int or not 0 <= word < 1 << 64 or word & _ENTRY_RESERVED:
                try:
                    decode_entry(word)
                except ValueError:
                    self.malformed_entries += 1
                    continue
            if word >> 62:                  # DNC != 0
                self.malformed_entries += 1
                continue
            hicann = (word >> 59) & 7
            if hicann >= n_hicanns:
                self.bad_hicann_entries += 1
                continue
            if self.hicann_arq_loopback:
                loop.append(word)
                continue
            tag, write, addr = (word >> 49) & 1, (word >> 48) & 1, (word >> 32) & 0xFFFF
            reqs = requests.get(hicann)
            if reqs is None:
                reqs = requests[hicann] = []
            reqs.append((tag, write, addr, word & 0xFFFFFFFF))
            if write:
                self.hicann_writes += 1
            else:
                pending.append((hicann, tag, addr))
                self.hicann_reads += 1
        data = {h: self._exchange(h, reqs, len(words)) for h, reqs in requests.items()}
        out = list(loop)
        for h, tag, addr in pending:
            got = data[h]
            if got is not None:
                out.append((h << 59) | (tag << 49) | (addr << 32) | next(got))
        self.responses_sent += len(out)        # counted first: the host may look at once
        for i in range(0, len(out), MAX_ENTRIES_PER_FRAME):
            self._send(PacketType.HICANNCONFIG, out[i:i + MAX_ENTRIES_PER_FRAME])

    def _exchange(self, hicann: int, requests: list, n_entries: int):
        """Serve one HICANN's ``requests`` through the FPGA<->chip ARQ (:attr:`chip_arq`);
        returns an iterator over the read data in order, or None after a protocol failure
        (the HICANN's ARQ pair is then reset, as by §2.7 bit 4; the register contents
        stay)."""
        slot = self.slots[hicann]
        if self.chip_arq == "direct" and lossless_ready(slot.arq, slot.chip):
            try:
                data, rounds = lossless_exchange(slot.arq, slot.chip, requests, self.arq_now)
            except (ArqProtocolError, ValueError):
                pass
            else:
                self.arq_now += rounds
                return iter(data)
        else:
            handles = []
            for tag, write, addr, data in requests:
                if write:
                    slot.arq.write(tag, addr, data)
                else:
                    handles.append(slot.arq.read(tag, addr))
            if self._exchange_packets(slot, n_entries):
                return (h.data for h in handles)
        self.arq_failures += 1
        slot.reset_arq()
        return None

    def _exchange_packets(self, slot: HicannSlot, n_entries: int) -> bool:
        """Run the packet-level FPGA<->chip ARQ of one HICANN until everything is acknowledged
        and answered; False on a protocol failure."""
        try:
            for _ in range(_ARQ_ROUNDS_BASE + 4 * n_entries):
                to_chip = slot.arq.poll(self.arq_now)
                to_fpga = [r for p in to_chip for r in slot.chip.receive(p, self.arq_now)]
                to_fpga += slot.chip.poll(self.arq_now)
                for r in to_fpga:
                    slot.arq.receive(r)
                if slot.arq.done() and not to_fpga:
                    return True
                self.arq_now += 1
        except (ArqProtocolError, ValueError):
            pass
        return False
