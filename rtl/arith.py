"""Small gateware arithmetic shared by several blocks."""

__all__ = ["count_ones"]


def count_ones(bits):
    """Number of set bits among ``bits`` (a Value or a sequence of 1-bit values), as a balanced
    tree of narrow adders: a plain ``sum`` widens by one bit per term, which simulators then
    evaluate as wide multi-word additions every cycle."""
    level = [bits[i] for i in range(len(bits))]
    while len(level) > 1:
        level = [level[i] + level[i + 1] if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]
