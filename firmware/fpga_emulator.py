"""Emulated wafer-module FPGA, first slice: FPGACONFIG and the HICANN configuration path.

Spec: spec/host-stack.md §2.1 (application packet types), §2.2 (FPGACONFIG echo), §2.5 (HICANN
configuration path), §2.7 (soft-reset word), §1.9 (emulator guidance for the transport).

* :class:`FpgaEmulator` serves one HostARQ link (:class:`~bss1.host.hostarq_udp.FpgaArqEndpoint`)
  on 127.0.0.1 and owns 8 HICANNs, each a :class:`~bss1.models.hicann.HicannModel` behind the
  chip-side ARQ twin :class:`~bss1.models.config_arq.ConfigInterfaceModel`.
* :class:`HostHicannLink` is the host side of §2.5: it writes and reads HICANN registers by
  (HICANN index, tag, address) over a connected :class:`~bss1.host.hostarq_udp.HostArqClient`.

Where the HICANN-ARQ runs (§2.5). The host does *not* speak the per-HICANN ARQ: its HICANNCONFIG
entries carry (DNC, HICANN, tag, write, address, data) with no sequence numbers, and responses come
back with the same addressing, demultiplexed by the host into queues (dnc<<4)|(hicann<<1)|tag. The
sequence-numbered 64-bit FPGA<->HICANN packets ([63:62] tag, [61] seq-valid, [60:55] seq, [54:49]
ack, ...) exist only between the FPGA and the chip. So the emulator runs, per HICANN, the FPGA's
side of that ARQ (:class:`~bss1.models.config_arq.HostArq`, window 16, modulus 64) against the
chip's twin; the host link only builds and parses entries. Acknowledgements and ack-only packets end
in the FPGA; only read responses travel to the host.

Choices where the spec is silent (each is tested):

* Entries with bits 58:50 set, DNC != 0 (one DNC per FPGA here), or a HICANN index the emulator
  does not have are dropped and counted (``malformed_entries`` / ``bad_hicann_entries``); the rest
  of their frame is processed.
* A read entry without data bit 31 is still a read (the chip ignores the data field of reads).
* The FPGA<->chip channel is lossless and instantaneous; each frame's exchange is run to
  completion on a virtual clock (``arq_now``, one unit per round) before the responses are sent.
  ARQ retransmission timeout: ``TIMEOUT_DEFAULT`` units (the Virtex-5 timer values 0xC8/0x32 of
  §2.5 have no stated unit).
* Response entries keep bit 48 (write) = 0 and carry address and read data in [47:0].
* FPGACONFIG words with LEN != 1 or undefined bits set are counted in ``malformed_frames`` and not
  echoed (the host then times out, which points at the bad word).
* FPGADEBUG bit 0 (HICANN-ARQ loopback): while set, HICANNCONFIG entries bypass the chips and every
  well-formed entry is sent back unchanged (our reading of "loopback"; the spec gives no detail).
* Systime/experiment state follows the trigger bits: a "prime" arms, a "start" without
  listen-global runs; with listen-global the FPGA stays armed (the master trigger is not emulated).
"""

from __future__ import annotations

import argparse
import collections
import threading
import time
from typing import NamedTuple, Sequence

from ..host.hostarq import ArqParams
from ..host.hostarq_udp import FpgaArqEndpoint, HostArqClient
from ..models.config_arq import ArqProtocolError, ConfigInterfaceModel, HostArq
from ..models.hicann import HicannModel
from ..rtl.config.packet import READ_MARK, check_addr, check_data, check_tag
from .formats import FormatError, FpgaConfig, PacketType, TriggerCommand

__all__ = ["N_HICANNS", "MAX_ENTRIES_PER_FRAME", "HicannEntry", "encode_entry", "decode_entry",
           "response_entry", "HicannLinkError", "FpgaEmulator", "HostHicannLink",
           "build_parser", "main"]

N_HICANNS = 8                   # HICANNs behind one wafer-module FPGA (one DNC)
MAX_ENTRIES_PER_FRAME = 180     # §2.5: up to 180 entries per HICANNCONFIG frame
READ_TIMEOUT_S = 20.0           # §2.5: host read timeout (floating-gate programming is slow)
_RESERVED_MASK = ((1 << 9) - 1) << 50   # bits 58:50 must be 0
_ARQ_ROUNDS_BASE = 1000         # bound on FPGA<->chip exchange rounds per frame (plus per entry)


# -- §2.5 entry format -------------------------------------------------------------------------
class HicannEntry(NamedTuple):
    """One decoded HICANNCONFIG entry (host request or FPGA response)."""

    dnc: int
    hicann: int
    tag: int
    write: int
    addr: int
    data: int


def encode_entry(hicann: int, tag: int, write: bool, addr: int, data: int, dnc: int = 0) -> int:
    """Host request entry: [63:62] DNC, [61:59] HICANN, [49] tag, [48] write, [47:32] address,
    [31:0] data (reads: pass ``READ_MARK``)."""
    if not isinstance(dnc, int) or not 0 <= dnc <= 3:
        raise ValueError(f"DNC index {dnc!r} out of range 0..3")
    if not isinstance(hicann, int) or not 0 <= hicann <= 7:
        raise ValueError(f"HICANN index {hicann!r} out of range 0..7")
    check_tag(tag), check_addr(addr), check_data(data)
    return (dnc << 62) | (hicann << 59) | (tag << 49) | (int(bool(write)) << 48) | \
        (addr << 32) | data


def response_entry(hicann: int, tag: int, addr: int, data: int, dnc: int = 0) -> int:
    """FPGA response entry: same addressing, write = 0, address and read data in [47:0]."""
    return encode_entry(hicann, tag, False, addr, data, dnc)


def decode_entry(word: int) -> HicannEntry:
    """Split an entry; raises ValueError for non-64-bit values or reserved bits 58:50 set."""
    if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word < 1 << 64:
        raise ValueError(f"HICANNCONFIG entry {word!r} out of range 0..0xffffffffffffffff")
    if word & _RESERVED_MASK:
        raise ValueError(f"HICANNCONFIG entry {word:#018x} sets reserved bits 58:50")
    return HicannEntry((word >> 62) & 3, (word >> 59) & 7, (word >> 49) & 1, (word >> 48) & 1,
                       (word >> 32) & 0xFFFF, word & 0xFFFFFFFF)


class HicannLinkError(RuntimeError):
    """The FPGA answered something the host did not ask for."""


# -- the emulated FPGA -------------------------------------------------------------------------
class _HicannSlot:
    """One HICANN: the register model, the chip's ARQ twin and the FPGA's side of the ARQ."""

    def __init__(self, model: HicannModel, timeout: int | None):
        self.model = model
        self.timeout = timeout
        self.reset_arq()

    def reset_arq(self) -> None:
        kw = {} if self.timeout is None else {"timeout": self.timeout}
        self.chip = ConfigInterfaceModel(self.model.bus, **kw)
        self.arq = HostArq(**kw)


class FpgaEmulator:
    """In-process emulated FPGA with ``n_hicanns`` HICANNs on a HostARQ UDP endpoint.

    Parameters: ``host``/``data_port``/``reset_port`` as for :class:`FpgaArqEndpoint` (0 = free
    port); ``params``: HostARQ parameters of the endpoint; ``arq_timeout``: retransmission timeout
    of the FPGA<->chip ARQ in virtual units (None = model default).

    Counters (attributes): ``packets`` (per PTYPE), ``unknown_packets``, ``malformed_frames``,
    ``malformed_entries``, ``bad_hicann_entries``, ``hicann_writes``, ``hicann_reads``,
    ``responses_sent``, ``arq_failures``, ``fpga_config_echoes``. State: ``systime_primed``,
    ``systime_running``, ``experiment_primed``, ``experiment_running``, ``listen_global``,
    ``pulse_loopback``, ``systime_replace``, ``trace_reading``, ``hicann_arq_loopback``,
    ``last_fpga_config``. :meth:`status` returns all of them as a dict.
    """

    def __init__(self, host: str = "127.0.0.1", data_port: int = 0, reset_port: int = 0, *,
                 n_hicanns: int = N_HICANNS, params: ArqParams | None = None,
                 arq_timeout: int | None = None):
        if isinstance(n_hicanns, bool) or not isinstance(n_hicanns, int) or \
                not 1 <= n_hicanns <= N_HICANNS:
            raise ValueError(f"n_hicanns {n_hicanns!r} out of range 1..{N_HICANNS}")
        self.n_hicanns = n_hicanns
        self.slots = [_HicannSlot(HicannModel(), arq_timeout) for _ in range(n_hicanns)]
        self._lock = threading.RLock()
        self.arq_now = 0
        self.packets: collections.Counter = collections.Counter()
        self.unknown_packets = self.malformed_frames = self.malformed_entries = 0
        self.bad_hicann_entries = self.hicann_writes = self.hicann_reads = 0
        self.responses_sent = self.arq_failures = self.fpga_config_echoes = 0
        self.soft_resets = 0
        self._clear_state()
        self.endpoint = FpgaArqEndpoint(host, data_port, reset_port, params=params,
                                        on_packet=self._on_packet)

    def _clear_state(self) -> None:
        self.systime_primed = self.systime_running = False
        self.experiment_primed = self.experiment_running = False
        self.listen_global = self.pulse_loopback = self.systime_replace = False
        self.trace_reading = False
        self.hicann_arq_loopback = False
        self.last_fpga_config: int | None = None

    # -- plumbing ----------------------------------------------------------------------------------
    @property
    def hicanns(self) -> list[HicannModel]:
        return [s.model for s in self.slots]

    @property
    def data_port(self) -> int:
        return self.endpoint.data_port

    @property
    def reset_port(self) -> int:
        return self.endpoint.reset_port

    def close(self) -> None:
        self.endpoint.close()

    def __enter__(self) -> "FpgaEmulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def status(self) -> dict:
        names = ("unknown_packets", "malformed_frames", "malformed_entries", "bad_hicann_entries",
                 "hicann_writes", "hicann_reads", "responses_sent", "arq_failures",
                 "fpga_config_echoes", "soft_resets", "systime_primed", "systime_running",
                 "experiment_primed", "experiment_running", "listen_global", "pulse_loopback",
                 "systime_replace", "trace_reading", "hicann_arq_loopback", "last_fpga_config")
        with self._lock:
            out = {n: getattr(self, n) for n in names}
            out["packets"] = dict(self.packets)
            out["chip_bus_errors"] = [s.model.bus_errors for s in self.slots]
        return out

    def _send(self, ptype: int, words: Sequence[int]) -> None:
        self.endpoint.send(ptype, words)

    def _on_packet(self, ptype: int, words: tuple) -> None:
        """Worker-thread callback of the endpoint; never raises for bad input."""
        with self._lock:
            self.packets[ptype] += 1
            if ptype == PacketType.FPGACONFIG:
                self._fpga_config(words)
            elif ptype == PacketType.HICANNCONFIG:
                self._hicann_config(words)
            elif ptype == PacketType.FPGADEBUG:
                if len(words) != 1:
                    self.malformed_frames += 1
                else:
                    self.hicann_arq_loopback = bool(words[0] & 1)
            else:   # JTAG, playback, ... are later slices; unknown types likewise
                self.unknown_packets += 1

    # -- §2.2 FPGACONFIG ---------------------------------------------------------------------------
    def _fpga_config(self, words: tuple) -> None:
        if len(words) != 1:
            self.malformed_frames += 1
            return
        try:
            cfg = FpgaConfig.from_word(words[0])
        except FormatError:
            self.malformed_frames += 1
            return
        self.last_fpga_config = words[0]
        self.pulse_loopback = cfg.pulse_loopback          # sticky flags re-sent in every word
        self.systime_replace = cfg.systime_replace
        if cfg.trigger is not None:
            self.listen_global = cfg.listen_global
            start = cfg.trigger in (TriggerCommand.START_SYSTIME, TriggerCommand.START_EXPERIMENT)
            runs = start and not cfg.listen_global
            if cfg.trigger in (TriggerCommand.PRIME_SYSTIME, TriggerCommand.START_SYSTIME):
                self.systime_primed = not runs
                self.systime_running = self.systime_running or runs
            else:
                self.experiment_primed = not runs
                self.experiment_running = self.experiment_running or runs
        if cfg.start_playback_trace:
            self.experiment_running = True
        if cfg.stop_trace:
            self.experiment_running = False
        if cfg.start_trace_read:
            self.trace_reading = True
        self.fpga_config_echoes += 1
        self._send(PacketType.FPGACONFIG, (words[0],))

    # -- §2.5 HICANNCONFIG -------------------------------------------------------------------------
    def _hicann_config(self, words: tuple) -> None:
        pending = []            # (hicann, ReadHandle) in entry order
        touched = []
        loop = []
        for word in words:
            try:
                e = decode_entry(word)
            except ValueError:
                self.malformed_entries += 1
                continue
            if e.dnc != 0:
                self.malformed_entries += 1
                continue
            if e.hicann >= self.n_hicanns:
                self.bad_hicann_entries += 1
                continue
            if self.hicann_arq_loopback:
                loop.append(word)
                continue
            slot = self.slots[e.hicann]
            if e.write:
                slot.arq.write(e.tag, e.addr, e.data)
                self.hicann_writes += 1
            else:
                pending.append((e.hicann, slot.arq.read(e.tag, e.addr)))
                self.hicann_reads += 1
            if e.hicann not in touched:
                touched.append(e.hicann)
        failed = {h for h in touched if not self._exchange(h, len(words))}
        out = list(loop)
        for h, handle in pending:
            if h not in failed:
                out.append(response_entry(h, handle.tag, handle.addr, handle.data))
        self.responses_sent += len(out)        # counted first: the host may look at once
        for i in range(0, len(out), MAX_ENTRIES_PER_FRAME):
            self._send(PacketType.HICANNCONFIG, out[i:i + MAX_ENTRIES_PER_FRAME])

    def _exchange(self, hicann: int, n_entries: int) -> bool:
        """Run the FPGA<->chip ARQ of one HICANN until everything is acknowledged and answered.
        On a protocol failure the HICANN's ARQ pair is reset (as by §2.7 bit 4) and False
        returned; the register contents stay."""
        slot = self.slots[hicann]
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
        self.arq_failures += 1
        slot.reset_arq()
        return False

    # -- §2.7 soft reset ---------------------------------------------------------------------------
    def soft_reset(self, word: int) -> None:
        """Apply a §2.7 reset word (0x55000000 | bits, "assert" phase): b0 core clears the
        FPGACONFIG state, b1 HICANN design reset gives fresh HICANN models, b4 resets the
        HICANN-ARQs. DDR bits (b2, b3) have nothing to reset in this slice."""
        if not isinstance(word, int) or (word & 0xFF000000) != 0x55000000 or word & 0x00FFFFE0:
            raise ValueError(f"soft-reset word {word!r} is not 0x55000000 | bits 4:0")
        with self._lock:
            self.soft_resets += 1
            if word & 1:
                self._clear_state()
            for slot in self.slots:
                if word & 2:
                    slot.model = HicannModel()
                if word & 0x12:
                    slot.reset_arq()


# -- host side ---------------------------------------------------------------------------------
class HostHicannLink:
    """Host side of §2.5 over a connected :class:`HostArqClient`.

    Writes are buffered (<= 180 entries per frame) and flushed when the buffer is full, before any
    read and on :meth:`flush`. Responses are demultiplexed into queues per (HICANN, tag); a read
    waits up to ``read_timeout`` seconds for its response.
    """

    def __init__(self, client: HostArqClient, *, dnc: int = 0, n_hicanns: int = N_HICANNS,
                 read_timeout: float = READ_TIMEOUT_S):
        if not 1 <= n_hicanns <= N_HICANNS:
            raise ValueError(f"n_hicanns {n_hicanns!r} out of range 1..{N_HICANNS}")
        self.client = client
        self.dnc = dnc
        self.n_hicanns = n_hicanns
        self.read_timeout = read_timeout
        self._buffer: list[int] = []
        self._queues: dict[tuple[int, int], collections.deque] = \
            collections.defaultdict(collections.deque)
        self.foreign_responses = 0

    def _check_hicann(self, hicann) -> int:
        if isinstance(hicann, bool) or not isinstance(hicann, int) or \
                not 0 <= hicann < self.n_hicanns:
            raise ValueError(f"HICANN index {hicann!r} out of range 0..{self.n_hicanns - 1}")
        return hicann

    def _put(self, word: int) -> None:
        self._buffer.append(word)
        if len(self._buffer) >= MAX_ENTRIES_PER_FRAME:
            self.flush()

    def flush(self) -> None:
        """Send the buffered entries."""
        while self._buffer:
            chunk = self._buffer[:MAX_ENTRIES_PER_FRAME]
            self.client.send(PacketType.HICANNCONFIG, chunk)
            del self._buffer[:len(chunk)]

    def write(self, hicann: int, tag: int, addr: int, data: int) -> None:
        """Queue one register write."""
        self._put(encode_entry(self._check_hicann(hicann), tag, True, addr, data, self.dnc))

    def writes(self, hicann: int, writes) -> None:
        """Queue ``(tag, addr, data)`` writes and flush."""
        for tag, addr, data in writes:
            self.write(hicann, tag, addr, data)
        self.flush()

    def read_many(self, hicann: int, reads) -> list[int]:
        """Read ``(tag, addr)`` pairs of one HICANN; returns the data in order."""
        self._check_hicann(hicann)
        reads = list(reads)
        for tag, addr in reads:
            self._put(encode_entry(hicann, tag, False, addr, READ_MARK, self.dnc))
        self.flush()
        end = time.monotonic() + self.read_timeout
        out = []
        for tag, addr in reads:
            e = self._next_response(hicann, tag, end)
            if e.addr != addr:
                raise HicannLinkError(f"HICANN {hicann} tag {tag}: response for address "
                                      f"{e.addr:#06x}, expected {addr:#06x}")
            out.append(e.data)
        return out

    def read(self, hicann: int, tag: int, addr: int) -> int:
        return self.read_many(hicann, [(tag, addr)])[0]

    def _next_response(self, hicann: int, tag: int, end: float) -> HicannEntry:
        q = self._queues[(hicann, tag)]
        while not q:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"HICANN {hicann} tag {tag}: no response within "
                                   f"{self.read_timeout} s")
            try:
                words = self.client.receive(PacketType.HICANNCONFIG, timeout=left)
            except TimeoutError:
                continue
            for w in words:
                try:
                    e = decode_entry(w)
                except ValueError:
                    self.foreign_responses += 1
                    continue
                if e.dnc != self.dnc:
                    self.foreign_responses += 1
                    continue
                self._queues[(e.hicann, e.tag)].append(e)
        return q.popleft()


# -- command line ------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bss1.firmware.fpga_emulator",
                                description="Emulated BrainScaleS-1 wafer-module FPGA "
                                            "(HostARQ over UDP, 8 HICANNs)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=1234, help="HostARQ data port (default 1234)")
    p.add_argument("--reset-port", type=int, default=45054,
                   help="HostARQ reset port (default 45054)")
    p.add_argument("--hicanns", type=int, default=N_HICANNS,
                   help=f"number of HICANNs (default {N_HICANNS})")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    emu = FpgaEmulator(args.host, args.port, args.reset_port, n_hicanns=args.hicanns)
    print(f"FPGA emulator on {args.host}: data port {emu.data_port}, reset port "
          f"{emu.reset_port}; Ctrl-C stops", flush=True)
    try:
        while emu.endpoint.error is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        emu.close()
    if emu.endpoint.error is not None:
        print(f"endpoint failed: {emu.endpoint.error}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
