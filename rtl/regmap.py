"""Register-map description language: fields, registers, block types, address map.

The HICANN register map (:mod:`bss1.rtl.registers`) is written once with these classes. Everything
else is derived from it: the RTL address decoder (:mod:`bss1.rtl.bus`), the block slaves (they ask
their :class:`BlockType` for offsets), the reference models and host encoders
(:meth:`Register.encode` / :meth:`Register.decode`, Amaranth ``lib.data`` layouts) and a JSON export
(:meth:`AddressMap.to_json`). No address or bit position is typed anywhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable

from amaranth.lib import data

__all__ = ["Field", "Register", "BlockType", "BlockInstance", "AddressMap", "RegisterMapError"]


class RegisterMapError(ValueError):
    """A value, field or address that does not fit the declared register map."""


@dataclass(frozen=True)
class Field:
    """A bit field ``[lsb + width - 1 : lsb]`` of a register."""

    name: str
    lsb: int
    width: int = 1
    doc: str = ""

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


@dataclass(frozen=True)
class Register:
    """A register or a register array inside a block's local address space.

    ``count`` consecutive elements start at ``offset``; element ``i`` sits at
    ``offset + i * stride``. An element wider than the bus lane may ``span`` several consecutive
    addresses (byte ``b`` of element ``i`` at ``offset + i * stride + b``, least significant first). ``width`` is the number of meaningful data bits. ``access`` is ``"rw"``,
    ``"r"`` (read-only) or ``"w"`` (write-only). A write-only and a read-only register may share an
    offset (e.g. a block config register whose read returns status).
    """

    name: str
    offset: int
    width: int
    fields: tuple[Field, ...] = ()
    count: int = 1
    stride: int = 1
    access: str = "rw"
    doc: str = ""
    span: int = 1

    def __post_init__(self):
        if not 1 <= self.span <= self.stride:
            raise RegisterMapError(f"register {self.name!r}: span {self.span!r} out of range "
                                   f"1..{self.stride}")
        if self.access not in ("rw", "r", "w"):
            raise RegisterMapError(f"register {self.name!r}: access must be 'rw', 'r' or 'w', "
                                   f"not {self.access!r}")
        used = 0
        for f in self.fields:
            if f.lsb < 0 or f.lsb + f.width > self.width:
                raise RegisterMapError(f"register {self.name!r}: field {f.name!r} bits "
                                       f"[{f.lsb + f.width - 1}:{f.lsb}] outside width {self.width}")
            if used & f.mask:
                raise RegisterMapError(f"register {self.name!r}: field {f.name!r} overlaps")
            used |= f.mask

    # -- addressing --------------------------------------------------------------------------------
    @property
    def end(self) -> int:
        """One past the last local address of the array."""
        return self.offset + (self.count - 1) * self.stride + self.span

    def address(self, index: int = 0) -> int:
        if not 0 <= index < self.count:
            raise RegisterMapError(f"register {self.name!r}: index {index!r} out of range "
                                   f"0..{self.count - 1}")
        return self.offset + index * self.stride

    def index_of(self, local_addr: int) -> int | None:
        """Element index addressed by ``local_addr``, or ``None``."""
        rel = local_addr - self.offset
        if rel < 0 or rel % self.stride >= self.span or rel // self.stride >= self.count:
            return None
        return rel // self.stride

    @property
    def readable(self) -> bool:
        return "r" in self.access

    @property
    def writable(self) -> bool:
        return "w" in self.access

    # -- fields ------------------------------------------------------------------------------------
    @cached_property
    def _field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def _unpack(self) -> tuple[tuple[str, int, int], ...]:
        return tuple((f.name, f.lsb, (1 << f.width) - 1) for f in self.fields)

    def field(self, name: str) -> Field:
        f = self._field_map.get(name)
        if f is not None:
            return f
        raise RegisterMapError(f"register {self.name!r} has no field {name!r}; fields: "
                               f"{', '.join(f.name for f in self.fields)}")

    @property
    def layout(self) -> data.FlexibleLayout:
        """Amaranth layout of one element (for gateware ``View``s and host constants)."""
        return data.FlexibleLayout(self.width, {f.name: data.Field(f.width, f.lsb)
                                                for f in self.fields})

    def encode(self, **values: int) -> int:
        """Pack named field values into a register word; unnamed fields are 0."""
        word = 0
        fmap = self._field_map
        for name, value in values.items():
            f = fmap.get(name)
            if f is None:
                f = self.field(name)
            value = int(value)
            if not 0 <= value < (1 << f.width):
                raise RegisterMapError(f"{self.name}.{name}: value {value!r} out of range "
                                       f"0..{(1 << f.width) - 1}")
            word |= value << f.lsb
        return word

    def decode(self, word: int) -> dict[str, int]:
        """Unpack a register word into ``{field: value}``."""
        if not 0 <= word < (1 << self.width):
            self.check_word(word)
        return {name: (word >> lsb) & mask for name, lsb, mask in self._unpack}

    def check_word(self, word: int) -> int:
        if not 0 <= word < (1 << self.width):
            raise RegisterMapError(f"{self.name}: word {word!r} out of range "
                                   f"0..{(1 << self.width) - 1:#x}")
        return word

    def to_dict(self) -> dict:
        return {"name": self.name, "offset": self.offset, "count": self.count,
                "stride": self.stride, "span": self.span, "width": self.width,
                "access": self.access,
                "doc": self.doc,
                "fields": [{"name": f.name, "lsb": f.lsb, "width": f.width, "doc": f.doc}
                           for f in self.fields]}


@dataclass(frozen=True)
class BlockType:
    """The local register space shared by all instances of one kind of block."""

    name: str
    registers: tuple[Register, ...]
    doc: str = ""

    def __post_init__(self):
        names = [r.name for r in self.registers]
        if len(set(names)) != len(names):
            raise RegisterMapError(f"block {self.name!r}: duplicate register names")
        # Overlap check: at most one readable and one writable register per local address.
        seen_r: dict[int, str] = {}
        seen_w: dict[int, str] = {}
        for r in self.registers:
            for a in (r.address(i) + b for i in range(r.count) for b in range(r.span)):
                for flag, seen in ((r.readable, seen_r), (r.writable, seen_w)):
                    if flag:
                        if a in seen:
                            raise RegisterMapError(f"block {self.name!r}: {r.name!r} and "
                                                   f"{seen[a]!r} overlap at {a:#x}")
                        seen[a] = r.name

    def reg(self, name: str) -> Register:
        for r in self.registers:
            if r.name == name:
                return r
        raise RegisterMapError(f"block {self.name!r} has no register {name!r}")

    @cached_property
    def _lookups(self) -> dict:
        return {}

    def lookup(self, local_addr: int, write: bool) -> tuple[Register, int] | None:
        """The register (and element index) that a read or write of ``local_addr`` reaches."""
        if type(local_addr) is not int:
            return self._scan(local_addr, write)
        key = (local_addr, bool(write))
        cache = self._lookups
        try:
            return cache[key]
        except KeyError:
            hit = cache[key] = self._scan(local_addr, write)
            return hit

    def _scan(self, local_addr: int, write: bool) -> tuple[Register, int] | None:
        for r in self.registers:
            if (r.writable if write else r.readable):
                i = r.index_of(local_addr)
                if i is not None:
                    return r, i
        return None


@dataclass(frozen=True)
class BlockInstance:
    """One block at its base address in the space of one configuration tag."""

    name: str
    type: BlockType
    tag: int
    base: int
    size: int
    doc: str = ""

    def contains(self, addr: int) -> bool:
        return self.base <= addr < self.base + self.size

    def address(self, reg: str, index: int = 0) -> int:
        """Absolute bus address of element ``index`` of register ``reg``."""
        return self.base + self.type.reg(reg).address(index)


@dataclass(frozen=True)
class AddressMap:
    """All block instances of a chip, per configuration tag."""

    name: str
    instances: tuple[BlockInstance, ...]
    addr_width: int = 16
    data_width: int = 32

    def __post_init__(self):
        for a in self.instances:
            if a.size & (a.size - 1) or a.base % a.size:
                raise RegisterMapError(f"{a.name}: size {a.size:#x} must be a power of two "
                                       f"dividing base {a.base:#x}")
            for b in self.instances:
                if a is not b and a.tag == b.tag and a.contains(b.base):
                    raise RegisterMapError(f"{a.name} and {b.name} overlap")
            for r in a.type.registers:
                if r.end > a.size:
                    raise RegisterMapError(f"{a.name}: register {r.name!r} ends at {r.end:#x} "
                                           f"beyond block size {a.size:#x}")

    def __getitem__(self, name: str) -> BlockInstance:
        for i in self.instances:
            if i.name == name:
                return i
        raise RegisterMapError(f"no block {name!r} in {self.name}; blocks: "
                               f"{', '.join(i.name for i in self.instances)}")

    def tag_instances(self, tag: int) -> list[BlockInstance]:
        return [i for i in self.instances if i.tag == tag]

    @cached_property
    def _decoded(self) -> dict:
        return {}

    def decode(self, tag: int, addr: int, write: bool) -> tuple[BlockInstance, Register, int]:
        """Resolve an access to ``(block, register, index)``; raises for unmapped addresses."""
        if type(tag) is not int or type(addr) is not int:
            return self._decode(tag, addr, write)
        key = (tag, addr, bool(write))
        cache = self._decoded
        try:
            return cache[key]
        except KeyError:
            hit = cache[key] = self._decode(tag, addr, write)     # errors are not cached
            return hit

    def _decode(self, tag: int, addr: int, write: bool) -> tuple[BlockInstance, Register, int]:
        if tag not in (0, 1):
            raise RegisterMapError(f"tag {tag!r} out of range 0..1")
        if not 0 <= addr < (1 << self.addr_width):
            raise RegisterMapError(f"address {addr!r} out of range 0..{(1 << self.addr_width) - 1:#x}")
        for inst in self.tag_instances(tag):
            if inst.contains(addr):
                hit = inst.type.lookup(addr - inst.base, write)
                if hit is None:
                    kind = "writable" if write else "readable"
                    raise RegisterMapError(f"tag {tag} address {addr:#06x}: no {kind} register at "
                                           f"local address {addr - inst.base:#x} of {inst.name}")
                return (inst, *hit)
        raise RegisterMapError(f"tag {tag} address {addr:#06x} is not mapped to any block")

    def to_dict(self) -> dict:
        types: dict[str, BlockType] = {}
        for i in self.instances:
            types.setdefault(i.type.name, i.type)
        return {
            "name": self.name, "addr_width": self.addr_width, "data_width": self.data_width,
            "instances": [{"name": i.name, "type": i.type.name, "tag": i.tag, "base": i.base,
                           "size": i.size, "doc": i.doc} for i in self.instances],
            "block_types": {n: {"doc": t.doc, "registers": [r.to_dict() for r in t.registers]}
                            for n, t in types.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)


def fields(*specs: Iterable) -> tuple[Field, ...]:
    """Shorthand: ``fields(("name", lsb, width, "doc"), ...)``."""
    return tuple(Field(*s) for s in specs)
