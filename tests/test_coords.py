"""SW <-> HW coordinate conversions against the spec's vectors (§2.3, §2.6, §3, §7, §12.3)."""

import pytest

from bss1.models import coords as c


def test_line_shifts():
    assert [c.hline_west(y) for y in (0, 1, 2)] == [62, 63, 0]
    assert [c.vline_south(v) for v in (0, 1, 128, 254, 255)] == [126, 127, 130, 128, 129]
    for y in range(64):
        assert c.hline_west(c.hline_east(y)) == y
    for v in range(256):
        assert c.vline_south(c.vline_north(v)) == v


def test_crossbar_vector_and_registers():
    assert c.crossbar_vlines(42) == [10, 42, 74, 106, 149, 181, 213, 245]
    for y in range(64):
        for v in c.crossbar_vlines(y):
            assert y in c.crossbar_hlines(v)
    # left: bit k = VLine (31 - y/2) + 32k; right: bit 3 - k
    assert c.crossbar_switch(10, 42) == ("left", 21, 0)
    assert c.crossbar_switch(106, 42) == ("left", 21, 3)
    assert c.crossbar_switch(149, 42) == ("right", 21, 3)
    with pytest.raises(ValueError, match=r"^no crossbar switch between VLine 11 and HLine 42; "
                                         r"HLine 42 reaches VLines \[10, 42, 74, 106, 149, 181, "
                                         r"213, 245\]$"):
        c.crossbar_switch(11, 42)


def _rows(v, side, half):
    lines = range(112) if half == "top" else range(112, 224)
    return [L for L in lines if c.synapse_switch_exists(v, side, L)]


def test_synapse_switch_vectors():
    top, bot = _rows(13, "left", "top"), _rows(13, "left", "bottom")
    assert [top[i] for i in (0, 5, 9, 13)] == [6, 39, 71, 103]
    assert [bot[i] for i in (0, 7, 10, 13)] == [120, 169, 200, 217]
    top, bot = _rows(141, "right", "top"), _rows(141, "right", "bottom")
    assert [top[i] for i in (0, 7, 10, 13)] == [8, 57, 88, 105]
    assert [bot[i] for i in (0, 7, 10, 13)] == [118, 167, 198, 215]
    assert _rows(217, "right", "top")[:2] == [2, 3]
    assert len(top) == 14 and len(bot) == 14
    for L in (0, 57, 200):
        assert len(c.synapse_switch_vlines("left", L)) == 16


def test_repeater_addresses_and_sending():
    assert c.hrepeater_location(62) == ("center_left", 0)
    assert c.hrepeater_location(0) == ("center_left", 31)
    assert c.hrepeater_location(63) == ("center_right", 0)
    assert c.vrepeater_location(127) == ("top_left", 0)
    assert c.vrepeater_location(128) == ("top_right", 0)
    assert [c.sending_repeater_address(ch) for ch in range(8)] == [28, 24, 20, 16, 12, 8, 4, 0]
    assert c.sending_hline(0) == 6 and c.sending_hline(7) == 62
    assert all(c.is_sending_hline(y) == (y in c.SENDING_HLINES) for y in range(64))
    for block in c.REPEATER_BLOCKS:
        n = 32 if block.startswith("center") else 64
        lines = {c.repeater_line(block, a) for a in range(n)}
        assert len(lines) == n
    with pytest.raises(ValueError, match=r"^HLine 64 out of range 0..63$"):
        c.hrepeater_location(64)


def test_neuron_quad_map_and_gray():
    # NeuronOnQuad enum y*2+x -> HW address in quad q: {1,3,0,2} (+4q)
    q = 5
    got = [c.neuron_nb_address(2 * q + x, y) - 4 * q for y in (0, 1) for x in (0, 1)]
    assert got == [1, 3, 0, 2]
    for b in range(1024):
        assert c.gray_to_binary(c.binary_to_gray(b)) == b


def test_driver_geometry():
    assert c.driver_side(0) == "right" and c.driver_side(1) == "left"
    assert c.driver_side(112) == "left" and c.driver_side(113) == "right"
    assert c.driver_hw_rows(111) == (0, 1, 1, 0)
    assert c.driver_hw_rows(112) == (0, 1, 0, 1)
    rows = set()
    for L in range(112):
        rb, rt, _, _ = c.driver_hw_rows(L)
        # right drivers in the high byte lane: (R mod 4) >= 2
        assert (rb % 4 >= 2) == (c.driver_byte_lane(L) == 1)
        rows |= {rb, rt}
    assert rows == set(range(224))
    chain = c.driver_chain("left", "top")
    assert chain[:3] == [111, 109, 107] and len(chain) == 56


def test_quad_nb_offsets_and_merger_bits():
    # halbe getHWAddress map {1, 3, 0, 2} for NeuronOnQuad y * 2 + x
    assert c.NB_QUAD_OFFSETS == (1, 3, 0, 2)
    for q in range(128):
        for y in range(2):
            for x in range(2):
                assert c.neuron_quad_nb_address(q, y * 2 + x) == c.neuron_nb_address(2 * q + x, y)
    with pytest.raises(ValueError, match=r"^neuron on quad 4 out of range 0\.\.3$"):
        c.neuron_quad_nb_address(0, 4)
    bits = [c.merger_hw_bit(lvl, i) for lvl, n in enumerate(c.MERGER_LEVEL_SIZES)
            for i in range(n)]
    assert bits == [7, 6, 5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 13, 12, 14]
    with pytest.raises(ValueError, match=r"^Merger2 index 2 out of range 0\.\.1$"):
        c.merger_hw_bit(2, 2)
