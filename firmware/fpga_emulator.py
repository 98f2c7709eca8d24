"""Emulated wafer-module FPGA: HostARQ endpoint, FPGACONFIG, HICANN configuration path,
playback / trace experiments, JTAG, soft reset.

Spec: spec/host-stack.md §2.1 (application packet types), §2.2 (FPGACONFIG echo), §2.3 / §2.4
(playback and trace, in :mod:`bss1.firmware.experiment`), §2.5 (HICANN configuration path), §2.6
(JTAG, in :mod:`bss1.firmware.jtag`), §2.7 (soft-reset word on UDP 1801), §2.8 (system time and
experiment trigger), §1.9 (emulator guidance for the transport).

* :class:`FpgaEmulator` serves one HostARQ link (:class:`~bss1.host.hostarq_udp.FpgaArqEndpoint`)
  on 127.0.0.1 and owns 8 HICANNs, each a :class:`~bss1.models.hicann.HicannModel` behind the
  chip-side ARQ twin :class:`~bss1.models.config_arq.ConfigInterfaceModel`, with a
  :class:`~bss1.firmware.experiment.HicannL2Port` for its layer-2 link.
* The HICANN configuration path (§2.5: the per-HICANN slots, HICANNCONFIG routing through the
  FPGA<->chip ARQ, its choices) is :mod:`bss1.firmware.hicann_path`; the host side of §2.5
  (entry format, :class:`HostHicannLink`) lives in :mod:`bss1.host.hicann_link`; the command
  line (``python -m bss1.firmware.fpga_emulator``, ``bss1 fpga serve``) is
  :mod:`bss1.firmware.fpga_cli`. All are re-exported here.

Choices where the spec is silent (each is tested):

* Malformed packets are dropped and counted per reason in ``malformed`` (``fpgaconfig``,
  ``fpgadebug``, ``playback``, ``jtag``, ``soft_reset``, ``unknown_ptype``, ``experiment_busy``);
  FPGACONFIG words with LEN != 1 or undefined bits are not echoed (the host then times out).
* FPGADEBUG: bit 0 = HICANN-ARQ loopback (every well-formed HICANNCONFIG entry comes back
  unchanged, bypassing the chips); bits 15:8 = the FPGA's trace address filter per HICANN port
  (bit 8 + p set: events of HICANN port p with L1 address 0 are not recorded, HALbe's filter value
  0x1C0 for ``drop_bg``; clear: 0x1FF, pass all). The spec names the filter but not how it is
  written; this word is the emulator's choice. Other bits are malformed.
* Trigger (§2.2/§2.8): a "prime" arms; a "start" without listen-global runs (with listen-global the
  FPGA stays armed: the master trigger is not emulated). Starting the systime counter sets the
  system time to 0; starting an experiment runs the buffered playback program from the next FPGA
  counter wrap (on its own thread); without a complete program nothing runs
  (``experiments_without_program``). The system time only advances while experiments run.
* Trace read-out: the end item's start-trace-read sends the trace at once (FPGATRACE frames of
  <= 180 words, the last ending with the end-of-trace word); without it the trace is kept until an
  FPGACONFIG word with bit 26, which sends it (or only the end-of-trace word if none is kept).
* The playback buffering acknowledgement is one FPGAPLAYBACK word: the program length in 64-bit
  words (non-zero), sent when the end-of-program marker has arrived.
"""

from __future__ import annotations

import collections
import logging
import socket
import threading
import time
from typing import Sequence

from ..host.hicann_link import (MAX_ENTRIES_PER_FRAME, N_HICANNS, READ_TIMEOUT_S, HicannEntry,
                                HicannLinkError, HostHicannLink, decode_entry, encode_entry,
                                response_entry)
from ..host.hostarq import ArqParams, LinkClosedError
from ..host.hostarq_udp import FpgaArqEndpoint, bind_udp
from ..models.hicann import HicannModel
from .config_time import ConfigPhaseClock
from .experiment import ExperimentResult, HicannL2Port, PlaybackMemory, run_experiment
from .formats import TRACE_END_WORD, FormatError, FpgaConfig, PacketType, TriggerCommand
from .hicann_path import CHIP_ARQ_MODES, HicannConfigPath, HicannSlot
from .jtag import JtagError, decode_jtag_request, encode_jtag_response, fpga_chain

__all__ = ["N_HICANNS", "MAX_ENTRIES_PER_FRAME", "READ_TIMEOUT_S", "SOFT_RESET_PORT",
           "SOFT_RESET_MAGIC", "HicannEntry", "encode_entry", "decode_entry", "response_entry",
           "HicannLinkError", "FpgaEmulator", "HostHicannLink", "CHIP_ARQ_MODES", "HicannSlot",
           "build_parser", "add_cli", "serve", "main"]

SOFT_RESET_PORT = 1801          # §2.7
SOFT_RESET_MAGIC = 0x55000000   # §2.7: 0x55000000 | reset bits 4:0
_DEBUG_BITS = 0xFF01            # FPGADEBUG: loopback (bit 0), address-0 filter (bits 15:8)

log = logging.getLogger(__name__)


# -- the emulated FPGA -------------------------------------------------------------------------
class FpgaEmulator(HicannConfigPath):
    """In-process emulated FPGA with ``n_hicanns`` HICANNs on a HostARQ UDP endpoint.

    Parameters: ``host``/``data_port``/``reset_port`` as for :class:`FpgaArqEndpoint` (0 = free
    port); ``soft_reset_port``: UDP port of the §2.7 soft-reset word (0 = free port, None = none;
    1801 on the real system); ``params``: HostARQ parameters of the endpoint; ``arq_timeout``:
    retransmission timeout of the FPGA<->chip ARQ in virtual units (None = model default);
    ``pll_mhz``: HICANN core clock; ``threaded``: run experiments on their own thread (False:
    on the caller's, for deterministic tests); ``chip_time_scale`` and ``clock``: the
    configuration-phase time of the chips (:class:`~bss1.firmware.config_time.ConfigPhaseClock`:
    wall time between HICANNCONFIG frames x PLL x scale passes on the chips outside
    experiments, plus 2 cycles per access); ``chip_arq``: ``"direct"`` or ``"packets"``, how
    the lossless FPGA<->chip ARQ exchange is computed (same results; see the module docstring).

    :meth:`status` returns the counters and the state as a dict; :meth:`handle_packet` is the
    application-layer entry point (the endpoint's callback), which never raises for bad input.
    """

    def __init__(self, host: str = "127.0.0.1", data_port: int = 0, reset_port: int = 0, *,
                 soft_reset_port: int | None = None, n_hicanns: int = N_HICANNS,
                 params: ArqParams | None = None, arq_timeout: int | None = None,
                 pll_mhz: int = 100, threaded: bool = True, chip_time_scale: float = 1.0,
                 clock=time.monotonic, chip_arq: str = "direct"):
        if chip_arq not in CHIP_ARQ_MODES:
            raise ValueError(f"chip_arq {chip_arq!r} not one of {', '.join(CHIP_ARQ_MODES)}")
        self.chip_arq = chip_arq
        if isinstance(n_hicanns, bool) or not isinstance(n_hicanns, int) or \
                not 1 <= n_hicanns <= N_HICANNS:
            raise ValueError(f"n_hicanns {n_hicanns!r} out of range 1..{N_HICANNS}")
        self.n_hicanns = n_hicanns
        self.chip_time = ConfigPhaseClock(pll_mhz, chip_time_scale=chip_time_scale, clock=clock)
        self.slots = [HicannSlot(arq_timeout, pll_mhz, self._configuring)
                      for _ in range(n_hicanns)]
        self.threaded = threaded
        self._lock = threading.RLock()
        self.arq_now = 0
        self.packets: collections.Counter = collections.Counter()
        self.malformed: collections.Counter = collections.Counter()   # per reason
        self.unknown_packets = self.malformed_frames = self.malformed_entries = 0
        self.bad_hicann_entries = self.hicann_writes = self.hicann_reads = 0
        self.responses_sent = self.arq_failures = self.fpga_config_echoes = 0
        self.soft_resets = self.soft_reset_releases = self.send_failures = 0
        self.jtag_requests = self.playback_programs = self.experiments = 0
        self.pulses_played = self.pulses_dropped = self.pulses_traced = 0
        self.trace_overflows = self.trace_filtered = self.overflow_waits = 0
        self.traces_sent = self.experiments_without_program = 0
        self._generation = 0
        self._experiment: threading.Thread | None = None
        self.last_experiment: ExperimentResult | None = None
        self.playback = PlaybackMemory()
        self.jtag = fpga_chain(n_hicanns)
        self._clear_state()
        self.endpoint = FpgaArqEndpoint(host, data_port, reset_port, params=params,
                                        on_packet=self.handle_packet)
        self._soft_sock = None
        self._soft_thread = None
        self._closing = False
        if soft_reset_port is not None:
            try:
                self._soft_sock = bind_udp(host, soft_reset_port)
            except OSError:
                self.endpoint.close()
                raise
            self._soft_thread = threading.Thread(target=self._soft_reset_loop,
                                                 name="fpga-soft-reset", daemon=True)
            self._soft_thread.start()

    def _clear_state(self) -> None:
        self.systime_primed = self.systime_running = False
        self.experiment_primed = self.experiment_running = False
        self.listen_global = self.pulse_loopback = self.systime_replace = False
        self.trace_reading = False
        self.hicann_arq_loopback = False
        self.drop_address0 = 0
        self.last_fpga_config: int | None = None
        self.systime = 0
        self._trace_pending: list[int] | None = None

    # -- plumbing ----------------------------------------------------------------------------------
    def _configuring(self) -> bool:
        return not self.experiment_running

    @property
    def hicanns(self) -> list[HicannModel]:
        return [s.model for s in self.slots]

    @property
    def ports(self) -> list[HicannL2Port]:
        return [s.port for s in self.slots]

    @property
    def data_port(self) -> int:
        return self.endpoint.data_port

    @property
    def reset_port(self) -> int:
        return self.endpoint.reset_port

    @property
    def soft_reset_port(self) -> int | None:
        return None if self._soft_sock is None else self._soft_sock.getsockname()[1]

    def wait_experiment(self, timeout: float | None = None) -> bool:
        """Wait until no experiment runs; False on timeout."""
        t = self._experiment
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def close(self) -> None:
        self._closing = True
        self.wait_experiment(30.0)
        if self._soft_thread is not None:
            self._soft_thread.join(5.0)
            self._soft_sock.close()
            self._soft_thread = None
        self.endpoint.close()
        log.info("FPGA emulator closed: %s", self._summary())

    def __enter__(self) -> "FpgaEmulator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    _STATE = ("systime_primed", "systime_running", "experiment_primed", "experiment_running",
              "listen_global", "pulse_loopback", "systime_replace", "trace_reading",
              "hicann_arq_loopback", "last_fpga_config", "drop_address0", "systime")
    _COUNTERS = ("unknown_packets", "malformed_frames", "malformed_entries", "bad_hicann_entries",
                 "hicann_writes", "hicann_reads", "responses_sent", "arq_failures",
                 "fpga_config_echoes", "soft_resets", "soft_reset_releases", "send_failures",
                 "jtag_requests", "playback_programs", "experiments", "pulses_played",
                 "pulses_dropped", "pulses_traced", "trace_overflows", "trace_filtered",
                 "overflow_waits", "traces_sent", "experiments_without_program")

    def status(self) -> dict:
        """Counters, state and the transport's frame statistics."""
        with self._lock:
            out = {n: getattr(self, n) for n in self._COUNTERS + self._STATE}
            out["packets"] = dict(self.packets)
            out["malformed"] = dict(self.malformed)
            out["chip_bus_errors"] = [s.model.bus_errors for s in self.slots]
            out["l2_dropped"] = [s.port.dropped for s in self.slots]
            st = self.endpoint.stats
            out["frames"] = {"received": st.frames_in, "sent": st.frames_sent,
                             "resent": st.frames_resent, "malformed": st.malformed,
                             "out_of_window": st.out_of_window, "duplicates": st.duplicates}
            out["playback_words"] = len(self.playback.words)
        return out

    def _summary(self) -> str:
        st = self.status()
        keys = ("experiments", "pulses_played", "pulses_traced", "trace_overflows",
                "malformed", "frames")
        return ", ".join(f"{k} {st[k]}" for k in keys)

    def _bad(self, reason: str) -> None:
        self.malformed[reason] += 1
        log.debug("dropped malformed %s", reason)

    def _send(self, ptype: int, words: Sequence[int]) -> None:
        try:
            self.endpoint.send(ptype, words)
        except (LinkClosedError, TimeoutError):
            self.send_failures += 1

    def handle_packet(self, ptype: int, words: tuple) -> None:
        """One application packet (the endpoint's worker-thread callback); never raises for
        bad input: malformed packets are counted per reason and dropped."""
        with self._lock:
            self.packets[ptype] += 1
            if ptype == PacketType.FPGACONFIG:
                self._fpga_config(words)
            elif ptype == PacketType.HICANNCONFIG:
                self._hicann_config(words)
            elif ptype == PacketType.FPGAPLAYBACK:
                self._playback(words)
            elif ptype == PacketType.JTAGBULK:
                self._jtag(words)
            elif ptype == PacketType.FPGADEBUG:
                if len(words) != 1 or words[0] & ~_DEBUG_BITS:
                    self.malformed_frames += 1
                    self._bad("fpgadebug")
                else:
                    self.hicann_arq_loopback = bool(words[0] & 1)
                    self.drop_address0 = (words[0] >> 8) & 0xFF
            else:
                self.unknown_packets += 1
                self._bad("unknown_ptype")

    # -- §2.2 FPGACONFIG, §2.8 trigger -------------------------------------------------------------
    def _fpga_config(self, words: tuple) -> None:
        if len(words) != 1:
            self.malformed_frames += 1
            self._bad("fpgaconfig")
            return
        try:
            cfg = FpgaConfig.from_word(words[0])
        except FormatError:
            self.malformed_frames += 1
            self._bad("fpgaconfig")
            return
        self.last_fpga_config = words[0]
        self.pulse_loopback = cfg.pulse_loopback          # sticky flags re-sent in every word
        self.systime_replace = cfg.systime_replace
        launch = False
        if cfg.trigger is not None:
            self.listen_global = cfg.listen_global
            start = cfg.trigger in (TriggerCommand.START_SYSTIME, TriggerCommand.START_EXPERIMENT)
            runs = start and not cfg.listen_global
            if cfg.trigger in (TriggerCommand.PRIME_SYSTIME, TriggerCommand.START_SYSTIME):
                self.systime_primed = not runs
                if runs:                                 # the counter starts from 0
                    self.systime_running, self.systime = True, 0
            else:
                self.experiment_primed = not runs
                launch = runs
        if cfg.start_playback_trace:
            launch = True
        run_now = self._launch() if launch else None    # a thread waits for our lock
        self.fpga_config_echoes += 1
        self._send(PacketType.FPGACONFIG, (words[0],))
        if cfg.start_trace_read:
            self.trace_reading = True
            self._read_out(self._trace_pending or [TRACE_END_WORD])
            self._trace_pending = None
        if run_now is not None:
            self._run_experiment(*run_now)

    # -- §2.3 playback, §2.4 trace -----------------------------------------------------------------
    def _playback(self, words: tuple) -> None:
        try:
            end = self.playback.add(words)
        except FormatError as exc:
            self._bad("playback")
            log.debug("playback program dropped: %s", exc)
            return
        if end is not None:
            self.playback_programs += 1
            self._send(PacketType.FPGAPLAYBACK, (end,))      # buffering acknowledgement

    def _launch(self) -> tuple | None:
        """Start the buffered program on a thread; returns the arguments of a synchronous run
        instead when not ``threaded``."""
        if not self.playback.complete:
            self.experiments_without_program += 1
            return None
        if self._experiment is not None and self._experiment.is_alive():
            self._bad("experiment_busy")
            return None
        self.experiment_running = True
        args = (self.playback.items, self._generation)
        if not self.threaded:
            return args
        self._experiment = threading.Thread(target=self._run_experiment, args=args,
                                            name="fpga-experiment", daemon=True)
        self._experiment.start()
        return None

    def _run_experiment(self, items, generation: int) -> None:
        with self._lock:
            ports = {i: s.port for i, s in enumerate(self.slots) if s.port.enabled}
            opts = dict(drop_address0=self.drop_address0, systime_replace=self.systime_replace,
                        pulse_loopback=self.pulse_loopback)
            systime = self.systime
        res = run_experiment(items, ports, systime, lock=self._lock, **opts)
        with self._lock:
            self.chip_time.restart()                 # the experiment clocked the chips
            if generation != self._generation:       # soft reset while running: discard
                return
            self.last_experiment = res
            self.experiments += 1
            self.systime = max(res.end, self.systime)
            self.experiment_running = self.experiment_primed = False
            self.pulses_played += res.pulses_played
            self.pulses_dropped += res.pulses_dropped
            self.pulses_traced += len(res.trace)
            self.trace_overflows += res.trace_overflows
            self.trace_filtered += res.trace_filtered
            self.overflow_waits += res.overflow_waits
            if not res.read_out:
                self._trace_pending = res.trace_words
        log.info("experiment %d done: %s", self.experiments, self._summary())
        if res.read_out:
            self._read_out(res.trace_words)

    def _read_out(self, words: list[int]) -> None:
        with self._lock:
            self.traces_sent += 1           # counted first: the host may look at once
        for i in range(0, len(words), MAX_ENTRIES_PER_FRAME):
            self._send(PacketType.FPGATRACE, words[i:i + MAX_ENTRIES_PER_FRAME])

    # -- §2.6 JTAG ---------------------------------------------------------------------------------
    def _jtag(self, words: tuple) -> None:
        try:
            nibbles = decode_jtag_request(words)
        except JtagError:
            self._bad("jtag")
            return
        self.jtag_requests += 1
        self._send(PacketType.JTAGBULK, encode_jtag_response(self.jtag.run(nibbles)))
    # -- §2.7 soft reset ---------------------------------------------------------------------------
    def soft_reset(self, word: int) -> None:
        """Apply a §2.7 reset word (0x55000000 | bits, "assert" phase): b0 core clears the
        FPGACONFIG/trigger state, the system time, the filters and the trace memory; b1 HICANN
        design reset gives fresh HICANN models (and layer-2 ports); b2/b3 (DDR2) clear the
        playback and trace memories; b4 resets the HICANN-ARQs. A running experiment is
        abandoned (its result is discarded)."""
        if isinstance(word, bool) or not isinstance(word, int) or \
                (word & 0xFF000000) != SOFT_RESET_MAGIC or word & 0x00FFFFE0:
            raise ValueError(f"soft-reset word {word!r} is not 0x55000000 | bits 4:0")
        with self._lock:
            self.soft_resets += 1
            self._generation += 1
            if word & 1:
                self._clear_state()
                self.jtag = fpga_chain(self.n_hicanns)
            if word & 0xD:
                self.playback.clear()
                self._trace_pending = None
                self.experiment_running = False
            for slot in self.slots:
                if word & 2:
                    slot.new_chip()
                elif word & 0x10:
                    slot.reset_arq()

    def _soft_reset_loop(self) -> None:
        sock = self._soft_sock
        sock.settimeout(0.1)
        sock.setblocking(True)
        sock.settimeout(0.1)
        while not self._closing:
            try:
                data, _ = sock.recvfrom(64)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            word = int.from_bytes(data, "big") if len(data) == 4 else None
            if word is None or (word & 0xFF000000) != SOFT_RESET_MAGIC or word & 0x00FFFFE0:
                with self._lock:
                    self._bad("soft_reset")
                continue
            if word & 0x1F:
                self.soft_reset(word)
                log.info("soft reset %#010x", word)
            else:
                with self._lock:
                    self.soft_reset_releases += 1


# the command line (imports this module only when it runs)
from .fpga_cli import add_cli, build_parser, main, serve  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
