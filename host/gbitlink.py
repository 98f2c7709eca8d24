"""Host encoder of a HICANN's GbitLink (layer-2 channel) configuration (spec hicann-digital.md
§8.1, §8.2; host-stack.md §2.9).

:class:`GbitLink` holds, per SW ``GbitLinkOnHICANN`` 0..7, a :class:`GbitLinkDirection` and the
chip-wide ``timestamp_enable``. :meth:`GbitLink.word` packs it into the SPL1 control register
(``registers.SPL1_CONTROL``, register ``gbitlink``); SW link i is HW channel 7 - i
(:func:`bss1.models.coords.sw_to_hw8`). :meth:`GbitLink.write` gives the configuration write
``(tag, address, data)`` at ``HICANN_MAP["spl1_control"]``; :func:`spl1_reset_write` the write that
resets the SPL1 block. The register is write-only ("not gettable"), so :meth:`GbitLink.from_word`
exists for models and tests that see the written word.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bss1.models.coords import check_range, sw_to_hw8
from bss1.rtl.registers import HICANN_MAP

__all__ = ["GbitLinkDirection", "GbitLink", "spl1_reset_write", "Write"]

Write = tuple[int, int, int]   # (tag, address, data)

_INST = HICANN_MAP["spl1_control"]
_REG = _INST.type.reg("gbitlink")


class GbitLinkDirection(enum.Enum):
    DISABLED = "disabled"        # channel enable 0
    TO_DNC = "to_dnc"            # HICANN -> DNC (direction bit 0)
    TO_HICANN = "to_hicann"      # DNC -> HICANN (direction bit 1)


@dataclass(frozen=True)
class GbitLink:
    """Directions of the 8 SW GbitLinks of one HICANN; default: all disabled, no timestamps.

    ``timestamp_enable``: 1 = DNC -> HICANN pulses are held until their release time.
    """

    directions: tuple[GbitLinkDirection, ...] = (GbitLinkDirection.DISABLED,) * 8
    timestamp_enable: bool = False

    def __post_init__(self):
        d = tuple(self.directions)
        if len(d) != 8:
            raise ValueError(f"GbitLink needs 8 directions (GbitLinkOnHICANN 0..7), "
                             f"got {len(d)}")
        for i, x in enumerate(d):
            if not isinstance(x, GbitLinkDirection):
                raise ValueError(f"GbitLinkOnHICANN {i}: direction {x!r} is not a "
                                 f"GbitLinkDirection")
        object.__setattr__(self, "directions", d)

    @classmethod
    def of(cls, links: dict[int, GbitLinkDirection] | None = None,
           timestamp_enable: bool = False) -> "GbitLink":
        """From ``{SW link: direction}``; links not named are DISABLED."""
        d = [GbitLinkDirection.DISABLED] * 8
        for i, x in (links or {}).items():
            d[check_range("GbitLinkOnHICANN", i, 0, 7)] = x
        return cls(tuple(d), timestamp_enable)

    def word(self) -> int:
        """The SPL1 control word (§8.2)."""
        enable = direction = 0
        for i, x in enumerate(self.directions):
            bit = 1 << sw_to_hw8(i)
            if x is not GbitLinkDirection.DISABLED:
                enable |= bit
            if x is GbitLinkDirection.TO_HICANN:
                direction |= bit
        return _REG.encode(enable=enable, direction=direction,
                           timestamp_enable=int(bool(self.timestamp_enable)))

    def write(self) -> Write:
        return _INST.tag, _INST.address("gbitlink"), self.word()

    @classmethod
    def from_word(cls, word: int) -> "GbitLink":
        f = _REG.decode(word)
        if f["reset"]:
            raise ValueError(f"SPL1 control word {word:#x} is a reset (bit 31), not a GbitLink "
                             f"configuration")
        used = sum(x.mask for x in _REG.fields)
        if word & ~used:
            raise ValueError(f"SPL1 control word {word:#x} sets undefined bits "
                             f"{word & ~used:#x}")
        d = []
        for i in range(8):
            hw = sw_to_hw8(i)
            if not f["enable"] >> hw & 1:
                d.append(GbitLinkDirection.DISABLED)
            elif f["direction"] >> hw & 1:
                d.append(GbitLinkDirection.TO_HICANN)
            else:
                d.append(GbitLinkDirection.TO_DNC)
        return cls(tuple(d), bool(f["timestamp_enable"]))


def spl1_reset_write() -> Write:
    """The write that resets the SPL1 block (bit 31 of the control register)."""
    return _INST.tag, _INST.address("gbitlink"), _REG.encode(reset=1)
