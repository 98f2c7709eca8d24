"""Host-side FPGA API: reset, trigger, playback program, trace (spec/host-stack.md §2.2-§2.4,
§2.6-§2.8, §2.10).

Stateless functions on an :class:`FpgaConnection` (a connected
:class:`~bss1.host.hostarq_udp.HostArqClient` plus the address of the FPGA's soft-reset port),
in the manner of HALbe's ``FPGA::*`` free functions:

* :func:`reset`: the canonical reset of §2.10 as far as the emulated system has it: soft reset of
  everything on, then off (UDP word to the soft-reset port), drain, HostARQ reset (§1.5), check
  the JTAG IDs of the FPGA and its HICANNs (§2.6).
* :func:`prime_systime`, :func:`start_systime`, :func:`prime_experiment`,
  :func:`start_experiment`: FPGACONFIG words; each waits for the identical echo (§2.2).
* :func:`write_playback_program`: validates the pulses and builds the whole program before
  anything is sent (bad input raises :class:`~bss1.firmware.formats.FormatError`, nothing sent),
  sets the trace address filter, sends the frames and waits for the buffering acknowledgement.
* :func:`read_trace_pulses`: collects FPGATRACE frames up to the end-of-trace word and decodes them.
* :func:`read_jtag_ids`, :func:`status`.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

from ..firmware.formats import (DEFAULT_FPGA_HICANN_DELAY, TRACE_END_WORD, FormatError,
                                FpgaConfig, PacketType, TriggerCommand, decode_trace,
                                playback_frames, playback_program)
from ..firmware.jtag import (FPGA_JTAG_ID, HICANN_JTAG_ID, decode_jtag_response,
                             encode_jtag_request, id_read_nibbles)
from .hostarq_udp import HostArqClient

__all__ = ["FpgaError", "FpgaConnection", "CONFIG_ECHO_TIMEOUT_S", "PLAYBACK_ACK_TIMEOUT_S",
           "SOFT_RESET_ALL", "soft_reset", "reset", "read_jtag_ids", "send_fpga_config",
           "prime_systime", "start_systime", "prime_experiment", "start_experiment",
           "set_address_filter", "write_playback_program", "read_trace_pulses", "status"]

CONFIG_ECHO_TIMEOUT_S = 15.0        # §2.2
PLAYBACK_ACK_TIMEOUT_S = 1.0        # §2.3: sthal polls up to 1 s
TRACE_FIRST_TIMEOUT_S = 10.0        # §2.4: 10 s + runtime for the first frame
TRACE_NEXT_TIMEOUT_S = 10.0         # §2.4: 10 s between frames
SOFT_RESET_ALL = 0x1F               # §2.7: core, FPGA-DNC, DDR2 on-board, DDR2 SO-DIMM, ARQ
_SOFT_RESET_MAGIC = 0x55000000


class FpgaError(RuntimeError):
    """The FPGA answered wrongly or not at all."""


@dataclass
class FpgaConnection:
    """A connected HostARQ client and the FPGA's soft-reset address (§2.7; port 1801 on the
    real system)."""

    client: HostArqClient
    soft_reset_addr: tuple[str, int] | None = None
    n_hicanns: int = 8


def soft_reset(conn: FpgaConnection, bits: int = SOFT_RESET_ALL) -> None:
    """Send the §2.7 word with ``bits`` ("assert"), then with 0 ("release")."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 0 <= bits <= 0x1F:
        raise ValueError(f"soft-reset bits {bits!r} out of range 0..0x1f")
    if conn.soft_reset_addr is None:
        raise FpgaError("connection has no soft-reset address")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for word in (_SOFT_RESET_MAGIC | bits, _SOFT_RESET_MAGIC):
            s.sendto(word.to_bytes(4, "big"), conn.soft_reset_addr)


def reset(conn: FpgaConnection, *, drain_s: float = 0.05, check_ids: bool = True) -> None:
    """Canonical reset (§2.10 steps 1-3): soft reset all on/off, drain, HostARQ reset, JTAG
    ID check of the FPGA and every HICANN."""
    soft_reset(conn)
    time.sleep(drain_s)
    conn.client.connect()
    if check_ids:
        ids = read_jtag_ids(conn)
        want = [FPGA_JTAG_ID] + [HICANN_JTAG_ID] * conn.n_hicanns
        if ids != want:
            raise FpgaError("JTAG IDs " + ", ".join(f"{i:#010x}" for i in ids)
                            + " do not match the expected " + ", ".join(f"{i:#010x}"
                                                                        for i in want))


def read_jtag_ids(conn: FpgaConnection, timeout: float = 5.0) -> list[int]:
    """ID codes of the chain (FPGA first, then HICANN 0..n-1) read over JTAGBULK (§2.6)."""
    n = 1 + conn.n_hicanns
    conn.client.send(PacketType.JTAGBULK, encode_jtag_request(id_read_nibbles(n)))
    bits = decode_jtag_response(conn.client.receive(PacketType.JTAGBULK, timeout=timeout))
    if len(bits) != 32 * n:
        raise FpgaError(f"JTAG answer has {len(bits)} TDO bits, expected {32 * n}")
    return [sum(bits[32 * i + j] << j for j in range(32)) for i in range(n)]


def send_fpga_config(conn: FpgaConnection, cfg: FpgaConfig,
                     timeout: float = CONFIG_ECHO_TIMEOUT_S) -> None:
    """Send one FPGACONFIG word and wait for its identical echo (§2.2)."""
    word = cfg.word
    conn.client.send(PacketType.FPGACONFIG, [word])
    try:
        echo = conn.client.receive(PacketType.FPGACONFIG, timeout=timeout)
    except TimeoutError:
        raise FpgaError(f"no echo of FPGACONFIG word {word:#x} within {timeout} s") from None
    if echo != (word,):
        raise FpgaError(f"FPGACONFIG echo {[hex(w) for w in echo]} differs from the word "
                        f"{word:#x}")


def _trigger(conn, command, listen_global, **sticky):
    send_fpga_config(conn, FpgaConfig(command, listen_global=listen_global, **sticky))


def prime_systime(conn: FpgaConnection, listen_global: bool = False, **sticky) -> None:
    _trigger(conn, TriggerCommand.PRIME_SYSTIME, listen_global, **sticky)


def start_systime(conn: FpgaConnection, listen_global: bool = False, **sticky) -> None:
    _trigger(conn, TriggerCommand.START_SYSTIME, listen_global, **sticky)


def prime_experiment(conn: FpgaConnection, listen_global: bool = False, **sticky) -> None:
    _trigger(conn, TriggerCommand.PRIME_EXPERIMENT, listen_global, **sticky)


def start_experiment(conn: FpgaConnection, listen_global: bool = False, **sticky) -> None:
    _trigger(conn, TriggerCommand.START_EXPERIMENT, listen_global, **sticky)


def set_address_filter(conn: FpgaConnection, drop_address0: int = 0) -> None:
    """Trace address filter per HICANN port (bit p: drop L1-address-0 events of port p); the
    emulator's FPGADEBUG word (see :mod:`bss1.firmware.fpga_emulator`)."""
    if isinstance(drop_address0, bool) or not isinstance(drop_address0, int) or \
            not 0 <= drop_address0 <= 0xFF:
        raise ValueError(f"drop_address0 {drop_address0!r} out of range 0..0xff")
    conn.client.send(PacketType.FPGADEBUG, [drop_address0 << 8])


def write_playback_program(conn: FpgaConnection, pulses, runtime: int, *,
                           delay: int = DEFAULT_FPGA_HICANN_DELAY, enable_trace: bool = True,
                           drop_bg: bool = False,
                           ack_timeout: float = PLAYBACK_ACK_TIMEOUT_S) -> int:
    """HALbe ``write_playback_program``: time-sorted ``(t_dnc, label)`` pulses, ``runtime`` in
    DNC cycles. Everything is validated before anything is sent. Returns the end address the
    FPGA acknowledges (raises :class:`FpgaError` if it does not within ``ack_timeout``)."""
    words = playback_program(pulses, runtime, delay=delay, enable_trace=enable_trace)
    frames = playback_frames(words)
    while conn.client.received_packet_available(PacketType.FPGAPLAYBACK):
        conn.client.receive(PacketType.FPGAPLAYBACK, timeout=0)     # stale acknowledgements
    set_address_filter(conn, 0xFF if drop_bg else 0)
    for f in frames:
        conn.client.send(PacketType.FPGAPLAYBACK, f)
    try:
        ack = conn.client.receive(PacketType.FPGAPLAYBACK, timeout=ack_timeout)
    except TimeoutError:
        raise FpgaError(f"playback program of {len(words)} words not acknowledged within "
                        f"{ack_timeout} s") from None
    if ack != (len(words),):
        raise FpgaError(f"playback acknowledgement {list(ack)} differs from the program's end "
                        f"address {len(words)}")
    return ack[0]


def read_trace_pulses(conn: FpgaConnection, runtime_s: float = 0.0, *,
                      first_timeout: float | None = None,
                      next_timeout: float = TRACE_NEXT_TIMEOUT_S) -> list[tuple[int, int]]:
    """``(t_dnc, label)`` of the traced pulses, up to the end-of-trace word (§2.4). A trace
    that stops without that word raises :class:`FpgaError`."""
    if first_timeout is None:
        first_timeout = TRACE_FIRST_TIMEOUT_S + runtime_s
    words: list[int] = []
    timeout = first_timeout
    while not words or words[-1] != TRACE_END_WORD:
        try:
            frame = conn.client.receive(PacketType.FPGATRACE, timeout=timeout)
        except TimeoutError:
            raise FpgaError(f"trace has no end-of-trace word {TRACE_END_WORD:#018x}: "
                            f"{len(words)} words, then nothing for {timeout} s") from None
        words.extend(frame)
        timeout = next_timeout
    try:
        return decode_trace(words)
    except FormatError as exc:
        raise FpgaError(f"malformed trace: {exc}") from None


def status(conn: FpgaConnection) -> dict:
    """The host link's transport counters (§1.8) and connection state."""
    st = conn.client.stats
    return {"connected": conn.client.connected, "fpga_params": conn.client.fpga_params,
            "bitfile_info": conn.client.bitfile_info, "frames_in": st.frames_in,
            "frames_sent": st.frames_sent, "frames_resent": st.frames_resent,
            "malformed": st.malformed, "out_of_window": st.out_of_window,
            "duplicates": st.duplicates, "dropped_packets": conn.client.dropped_packets}
