"""JTAG over HostARQ (JTAGBULK, spec/host-stack.md §2.6; TAP of spec/hicann-digital.md §9.4).

The FPGA's JTAG master drives one chain: the FPGA itself and the 8 HICANNs of its DNC. The host
sends a stream of TCK steps (nibbles); the FPGA answers with the TDO bits it was asked to sample.

Payload layout (§2.6): 32-bit entries packed two per 64-bit word (entry 2k = bits 31:0). Request:
entry 0 = number N of following entries, entries 1..N = the nibble stream, each entry
byte-swapped. Response: entry 0 = number of following entries, entry 1 bits 15:0 (= bits 47:32 of
word 0) = number of valid TDO bits, then the TDO bits, LSB first, 32 per entry, each entry
byte-swapped. Padded to whole 64-bit words with 0.

Choices where the spec gives no detail (each is tested):

* Nibble bits: b0 TMS, b1 TDI, b2 sample TDO in this step, b3 = 1 for a real step (a nibble with
  b3 = 0 is padding and ignored). Eight nibbles per entry, the lowest nibble first.
* Chain order: host TDI -> HICANN 7 -> ... -> HICANN 0 -> FPGA -> TDO, so an ID read after
  Test-Logic-Reset returns the FPGA's ID first, then HICANN 0..7.
* IR lengths and codes: HICANN 6 bits, READID 0x00 selects the 32-bit ID register (§9.4), BYPASS
  0x3F; FPGA 10 bits, IDCODE 0x3C9 (the Virtex-5 code), BYPASS 0x3FF. Every other instruction
  selects the 1-bit bypass register. Test-Logic-Reset selects the ID register in every device.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["HICANN_JTAG_ID", "FPGA_JTAG_ID", "JtagError", "TapState", "TapDevice", "JtagChain",
           "encode_jtag_request", "decode_jtag_request", "encode_jtag_response",
           "decode_jtag_response", "id_read_nibbles", "fpga_chain"]

HICANN_JTAG_ID = 0x14849434
FPGA_JTAG_ID = 0x1C56C007
_MAX_ENTRIES = 2 * 180 - 1          # one HostARQ frame (180 words) minus the count entry


class JtagError(ValueError):
    """A JTAGBULK payload that does not fit the format."""


def _bswap32(x: int) -> int:
    return int.from_bytes(x.to_bytes(4, "little"), "big")


def _to_words(entries: list[int]) -> list[int]:
    if len(entries) % 2:
        entries = entries + [0]
    return [entries[k] | (entries[k + 1] << 32) for k in range(0, len(entries), 2)]


def _to_entries(words) -> list[int]:
    out = []
    for k, w in enumerate(words):
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w < 1 << 64:
            raise JtagError(f"JTAG word {k} {w!r} out of range 0..0xffffffffffffffff")
        out += [w & 0xFFFFFFFF, w >> 32]
    return out


def encode_jtag_request(nibbles) -> list[int]:
    """JTAGBULK request words for a sequence of nibbles (see the module docstring)."""
    nibbles = list(nibbles)
    for i, n in enumerate(nibbles):
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 15:
            raise JtagError(f"nibble {i} {n!r} out of range 0..15")
    entries = []
    for k in range(0, len(nibbles), 8):
        e = 0
        for j, n in enumerate(nibbles[k:k + 8]):
            e |= n << (4 * j)
        entries.append(_bswap32(e))
    if not 1 <= len(entries) <= _MAX_ENTRIES:
        raise JtagError(f"JTAG request of {len(nibbles)} nibbles out of range "
                        f"1..{8 * _MAX_ENTRIES}")
    return _to_words([len(entries)] + entries)


def decode_jtag_request(words) -> list[int]:
    """Nibbles of a JTAGBULK request (padding nibbles included)."""
    entries = _to_entries(words)
    if not entries:
        raise JtagError("JTAG request is empty")
    n = entries[0]
    if not 1 <= n <= len(entries) - 1 or len(entries) - 1 - n > 1:
        raise JtagError(f"JTAG request count {n} out of range 1..{len(entries) - 1} "
                        f"(entries in the frame after the count)")
    if any(entries[1 + n:]):
        raise JtagError("JTAG request padding is not 0")
    out = []
    for e in entries[1:1 + n]:
        e = _bswap32(e)
        out += [(e >> (4 * j)) & 15 for j in range(8)]
    return out


def encode_jtag_response(tdo_bits) -> list[int]:
    """JTAGBULK response words for the sampled TDO bits."""
    bits = list(tdo_bits)
    if len(bits) > 0xFFFF:
        raise JtagError(f"{len(bits)} TDO bits out of range 0..65535")
    data = []
    for k in range(0, len(bits), 32):
        e = 0
        for j, b in enumerate(bits[k:k + 32]):
            e |= (b & 1) << j
        data.append(_bswap32(e))
    return _to_words([1 + len(data), len(bits)] + data)


def decode_jtag_response(words) -> list[int]:
    """TDO bits of a JTAGBULK response."""
    entries = _to_entries(words)
    if len(entries) < 2:
        raise JtagError("JTAG response shorter than its header")
    n, nbits = entries[0], entries[1] & 0xFFFF
    if n != 1 + -(-nbits // 32) or len(entries) < 1 + n or len(entries) - 1 - n > 1:
        raise JtagError(f"JTAG response count {n} does not fit {nbits} TDO bits in "
                        f"{len(entries) - 1} entries")
    bits = []
    for e in entries[2:1 + n]:
        e = _bswap32(e)
        bits += [(e >> j) & 1 for j in range(32)]
    return bits[:nbits]


class TapState(enum.Enum):
    TLR = "test_logic_reset"
    RTI = "run_test_idle"
    SEL_DR = "select_dr"
    CAP_DR = "capture_dr"
    SHIFT_DR = "shift_dr"
    EXIT1_DR = "exit1_dr"
    PAUSE_DR = "pause_dr"
    EXIT2_DR = "exit2_dr"
    UPD_DR = "update_dr"
    SEL_IR = "select_ir"
    CAP_IR = "capture_ir"
    SHIFT_IR = "shift_ir"
    EXIT1_IR = "exit1_ir"
    PAUSE_IR = "pause_ir"
    EXIT2_IR = "exit2_ir"
    UPD_IR = "update_ir"


_S = TapState
# IEEE 1149.1 state graph: state -> (next with TMS 0, next with TMS 1)
_NEXT = {
    _S.TLR: (_S.RTI, _S.TLR), _S.RTI: (_S.RTI, _S.SEL_DR),
    _S.SEL_DR: (_S.CAP_DR, _S.SEL_IR), _S.CAP_DR: (_S.SHIFT_DR, _S.EXIT1_DR),
    _S.SHIFT_DR: (_S.SHIFT_DR, _S.EXIT1_DR), _S.EXIT1_DR: (_S.PAUSE_DR, _S.UPD_DR),
    _S.PAUSE_DR: (_S.PAUSE_DR, _S.EXIT2_DR), _S.EXIT2_DR: (_S.SHIFT_DR, _S.UPD_DR),
    _S.UPD_DR: (_S.RTI, _S.SEL_DR), _S.SEL_IR: (_S.CAP_IR, _S.TLR),
    _S.CAP_IR: (_S.SHIFT_IR, _S.EXIT1_IR), _S.SHIFT_IR: (_S.SHIFT_IR, _S.EXIT1_IR),
    _S.EXIT1_IR: (_S.PAUSE_IR, _S.UPD_IR), _S.PAUSE_IR: (_S.PAUSE_IR, _S.EXIT2_IR),
    _S.EXIT2_IR: (_S.SHIFT_IR, _S.UPD_IR), _S.UPD_IR: (_S.RTI, _S.SEL_DR),
}


@dataclass
class TapDevice:
    """One TAP: IR length, ID instruction and ID code; other instructions select bypass."""

    name: str
    idcode: int
    ir_length: int
    id_instruction: int
    ir: int = 0
    shift: int = 0          # the selected register while capturing/shifting
    length: int = 1

    def reset(self) -> None:
        self.ir = self.id_instruction

    def capture_dr(self) -> None:
        if self.ir == self.id_instruction:
            self.shift, self.length = self.idcode, 32
        else:
            self.shift, self.length = 0, 1

    def capture_ir(self) -> None:
        self.shift, self.length = 1, self.ir_length     # IEEE 1149.1: ...01 captured

    def shift_bit(self, tdi: int) -> int:
        out = self.shift & 1
        self.shift = (self.shift >> 1) | ((tdi & 1) << (self.length - 1))
        return out


class JtagChain:
    """The FPGA's JTAG chain; ``devices[0]`` is next to TDO."""

    def __init__(self, devices: list[TapDevice]):
        self.devices = devices
        self.state = TapState.TLR
        for d in devices:
            d.reset()

    def clock(self, tms: int, tdi: int) -> int:
        """One TCK: returns TDO of this step (valid in the shift states)."""
        s = self.state
        tdo = 0
        if s in (TapState.SHIFT_DR, TapState.SHIFT_IR):
            bit = tdi & 1
            for d in reversed(self.devices):        # TDI end first
                bit = d.shift_bit(bit)
            tdo = bit
        nxt = _NEXT[s][tms & 1]
        if nxt is TapState.TLR:
            for d in self.devices:
                d.reset()
        elif nxt is TapState.CAP_DR:
            for d in self.devices:
                d.capture_dr()
        elif nxt is TapState.CAP_IR:
            for d in self.devices:
                d.capture_ir()
        elif nxt is TapState.UPD_IR:
            for d in self.devices:
                d.ir = d.shift & ((1 << d.ir_length) - 1)
        self.state = nxt
        return tdo

    def run(self, nibbles) -> list[int]:
        """Apply a nibble stream; returns the sampled TDO bits."""
        out = []
        for n in nibbles:
            if not n & 8:
                continue
            tdo = self.clock(n & 1, (n >> 1) & 1)
            if n & 4:
                out.append(tdo)
        return out


def fpga_chain(n_hicanns: int) -> JtagChain:
    """The chain of one FPGA and its ``n_hicanns`` HICANNs (order in the module docstring)."""
    devs = [TapDevice("fpga", FPGA_JTAG_ID, 10, 0x3C9)]
    devs += [TapDevice(f"hicann{i}", HICANN_JTAG_ID, 6, 0x00) for i in range(n_hicanns)]
    return JtagChain(devs)


def id_read_nibbles(n_devices: int) -> list[int]:
    """Steps that read all ID codes: Test-Logic-Reset, to Shift-DR, 32 bits per device sampled
    (TDI 0), then Exit1 -> Update -> Run-Test/Idle."""
    v = 8
    seq = [v | 1] * 5 + [v, v | 1, v, v]            # TLR, RTI, Select-DR, Capture-DR, Shift-DR
    n = 32 * n_devices
    seq += [v | 4] * (n - 1) + [v | 4 | 1]          # the last shift leaves to Exit1-DR
    seq += [v | 1, v]                               # Update-DR, Run-Test/Idle
    return seq
