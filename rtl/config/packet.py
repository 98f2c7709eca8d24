"""Control-interface packets of the HICANN configuration path (spec hicann-digital.md §9.1).

One 64-bit packet per configuration transaction, laid out by
:data:`~bss1.rtl.registers.CONFIG_PACKET` (tag, seq_valid, seq, ack, write, addr, data). The
helpers here build and take apart such packets for the host-side ARQ
(:mod:`bss1.models.config_arq`), the chip-side ARQ gateware (:mod:`bss1.rtl.config.arq`) and
their tests; none of them types a bit position.

Conventions (chosen here, used by every producer and consumer of packets):

* **Write polarity** (spec §13 open question 12): ``sim_def.h`` names ``CIP_WRITE = 0`` and
  ``CIP_READ = 1``, while the host software sets the flag to 1 for writes. We follow the software:
  ``write = 1`` is a write, ``write = 0`` a read. Read requests additionally carry data bit 31 = 1
  (:data:`READ_MARK`, §9.1); the chip treats *every* request with ``write = 0`` as a read and
  does not look at the data field of reads.
* **Requests** (host -> chip) have ``seq_valid = 1`` and the host's sequence number in ``seq``.
* **Responses** (chip -> host, one per read) have ``seq_valid = 1``, the chip's own sequence number,
  ``write = 0``, the read address and the read data.
* **Ack-only packets** (both directions) have ``seq_valid = 0``; every other field except
  ``tag`` and ``ack`` is 0.
* ``ack`` in every packet is cumulative: the sequence number of the next packet the sender expects
  from the other side.
"""

from __future__ import annotations

from typing import NamedTuple

from ..registers import CONFIG_PACKET

__all__ = ["SEQ_MODULUS", "WINDOW", "N_TAGS", "READ_MARK", "PACKET_BITS", "ConfigPacket",
           "encode_packet", "decode_packet", "write_request", "read_request", "read_response",
           "ack_only", "seq_add", "seq_diff", "check_tag", "check_addr", "check_data"]

PACKET_BITS = CONFIG_PACKET.width
SEQ_MODULUS = 1 << CONFIG_PACKET.field("seq").width      # 64 sequence numbers (§9.1)
WINDOW = 16                                              # ARQ window (§9.1, linklayer.h)
N_TAGS = 2                                               # tag 0 = slow, tag 1 = fast (§9.1)
READ_MARK = 1 << (CONFIG_PACKET.field("data").width - 1)  # data bit 31 marks a read request
_ADDR_MAX = (1 << CONFIG_PACKET.field("addr").width) - 1
_DATA_MAX = (1 << CONFIG_PACKET.field("data").width) - 1


class ConfigPacket(NamedTuple):
    """A decoded control-interface packet."""

    tag: int
    seq_valid: int
    seq: int
    ack: int
    write: int
    addr: int
    data: int

    def encode(self) -> int:
        return encode_packet(**self._asdict())


def check_tag(tag) -> int:
    """Validate a configuration tag (0 or 1)."""
    if not isinstance(tag, int) or not 0 <= tag < N_TAGS:
        raise ValueError(f"tag {tag!r} out of range 0..{N_TAGS - 1}")
    return tag


def check_addr(addr) -> int:
    if not isinstance(addr, int) or not 0 <= addr <= _ADDR_MAX:
        raise ValueError(f"address {addr!r} out of range 0..{_ADDR_MAX}")
    return addr


def check_data(data) -> int:
    if not isinstance(data, int) or not 0 <= data <= _DATA_MAX:
        raise ValueError(f"data {data!r} out of range 0..{_DATA_MAX}")
    return data


def encode_packet(*, tag: int, seq_valid: int = 0, seq: int = 0, ack: int = 0, write: int = 0,
                  addr: int = 0, data: int = 0) -> int:
    """Pack fields into a 64-bit packet (any tag 0..3, so that illegal tags can be produced)."""
    return CONFIG_PACKET.encode(tag=tag, seq_valid=seq_valid, seq=seq, ack=ack, write=write,
                                addr=addr, data=data)


def decode_packet(packet: int) -> ConfigPacket:
    """Unpack a 64-bit packet; raises for values that are not 64-bit words."""
    if isinstance(packet, bool) or not isinstance(packet, int):
        raise TypeError(f"packet {packet!r} is not an int")
    if not 0 <= packet < (1 << PACKET_BITS):
        raise ValueError(f"packet {packet!r} out of range 0..{(1 << PACKET_BITS) - 1}")
    return ConfigPacket(**CONFIG_PACKET.decode(packet))


def write_request(tag: int, seq: int, ack: int, addr: int, data: int) -> int:
    return encode_packet(tag=check_tag(tag), seq_valid=1, seq=seq, ack=ack, write=1,
                         addr=check_addr(addr), data=check_data(data))


def read_request(tag: int, seq: int, ack: int, addr: int) -> int:
    return encode_packet(tag=check_tag(tag), seq_valid=1, seq=seq, ack=ack, write=0,
                         addr=check_addr(addr), data=READ_MARK)


def read_response(tag: int, seq: int, ack: int, addr: int, data: int) -> int:
    return encode_packet(tag=check_tag(tag), seq_valid=1, seq=seq, ack=ack, write=0,
                         addr=check_addr(addr), data=check_data(data))


def ack_only(tag: int, ack: int) -> int:
    return encode_packet(tag=check_tag(tag), ack=ack)


def seq_add(seq: int, n: int = 1) -> int:
    """``seq + n`` in the 64-entry sequence space."""
    return (seq + n) % SEQ_MODULUS


def seq_diff(a: int, b: int) -> int:
    """Distance from ``b`` forward to ``a`` in the sequence space (0..63)."""
    return (a - b) % SEQ_MODULUS
