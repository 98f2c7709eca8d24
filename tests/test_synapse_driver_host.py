"""Host encoder/decoder of synapse-driver configurations (§4.2, §4.4): golden bytes, round trips,
halbe modes, bad input."""

import random

import pytest

from bss1.host.synapse_driver import (MODES, RowConfig, SynapseDriverConfig,
                                      decode_synapse_driver, driver_sram_addresses,
                                      encode_synapse_driver)
from bss1.models import coords
from bss1.rtl.registers import SYNAPSE_CONTROLLER as SC
from hicann_scenarios import random_driver




def test_golden_bytes_top_right_driver():
    # driver 0: top half, right side -> HW rows 222 (HW-bottom = SW row 1) and 223, lane [15:8]
    cfg = SynapseDriverConfig(enable=1, locin=1, connect_neighbor=0, stp_enable=1, stp_mode=1,
                              stp_cap=5, rows=(RowConfig((1, 0), 2, (3, 12), (2, 3)),
                                               RowConfig((0, 1), 1, (7, 1), (1, 0))))
    got = {(w.sram, w.row): (w.address, w.word, w.lane)
           for w in encode_synapse_driver(0, cfg)}
    assert {w.controller for w in encode_synapse_driver(0, cfg)} == {"synapse_controller_top"}
    # hand-computed from the §4.4 tables
    # config HW-bottom (SW row 1): syn_in (0,1) -> 0b10, selgmax 1 -> 0b0100, locin, enable,
    # stp_enable -> 0b1110_0110; HW-top (SW row 0): syn_in 0b01, selgmax 2 -> 0b1000,
    # stp_cap 5 -> 0b101_0000, stp_mode -> bit 7: 0b1101_1001
    assert got[("drv_config", 222)] == (SC.reg("drv_config").address(222), 0xE600, 1)
    assert got[("drv_config", 223)] == (SC.reg("drv_config").address(223), 0xD900, 1)
    # decoder: p0 = row1 even = 1, p1 = row0 even = 2, p2 = row1 odd = 0, p3 = row0 odd = 3
    # bit0 p0[0]=1, bit1 p1[1]=1, bit2 p0[1]=0, bit3 p1[0]=0, bit4 p2[0]=0, bit5 p3[1]=1,
    # bit6 p2[1]=0, bit7 p3[0]=1 -> 0xA3
    assert got[("drv_decoder", 222)][1:] == (0xA300, 1)
    assert got[("drv_decoder", 223)][1:] == (0x0000, 1)
    # gmax: HW-bottom = SW row 1 -> div (7, 1) -> 0x17; HW-top = row 0 -> (3, 12) -> 0xC3
    assert got[("drv_gmax", 222)][1:] == (0x1700, 1)
    assert got[("drv_gmax", 223)][1:] == (0xC300, 1)


def test_golden_rows_and_lanes_of_all_quadrants():
    # bottom-left driver 112: HW rows 0/1, lane 0; bottom-right 113: rows 2/3, lane 1;
    # top-left 111: rows 0/1 of the top controller, lane 0
    expect = {112: ("synapse_controller_bottom", 0, 0), 113: ("synapse_controller_bottom", 2, 1),
              111: ("synapse_controller_top", 0, 0), 223: ("synapse_controller_bottom", 222, 1)}
    for line, (ctl, row, lane) in expect.items():
        addrs = driver_sram_addresses(line)
        assert [a[0] for a in addrs] == [ctl] * 6
        assert [a[4] for a in addrs] == [row, row + 1] * 3
        assert {a[2] for a in addrs} == {lane}
        assert addrs[2][1] == SC.reg("drv_decoder").address(row)


def test_roundtrip_all_lines():
    rng = random.Random(3)
    for line in range(224):
        cfg = random_driver(rng)
        words = {}
        for w in encode_synapse_driver(line, cfg):
            assert w.word >> (8 * (1 - w.lane)) & 0xFF == 0      # other lane written as 0
            words[(w.controller, w.address)] = w.word
        assert decode_synapse_driver(line, words) == cfg
        # the other lane's content does not disturb decoding
        noisy = {k: v | (0xFF << (8 * (1 - coords.driver_byte_lane(line))))
                 for k, v in words.items()}
        assert decode_synapse_driver(line, lambda c, a: noisy[(c, a)]) == cfg


def test_modes():
    base = SynapseDriverConfig(stp_cap=3)
    for name, (en, loc, cn) in MODES.items():
        c = base.with_mode(name)
        assert (c.enable, c.locin, c.connect_neighbor, c.stp_cap) == (en, loc, cn, 3)
        assert c.mode == name
    assert SynapseDriverConfig(enable=0, locin=1).mode is None
    with pytest.raises(ValueError, match=r"^mode 'loud' not one of l1, l1_mirror, mirror, "
                                         r"mirror_only, listen, disable$"):
        base.with_mode("loud")


def test_bad_input():
    with pytest.raises(ValueError, match=r"^stp_cap 8 out of range 0..7$"):
        encode_synapse_driver(0, SynapseDriverConfig(stp_cap=8))
    with pytest.raises(ValueError, match=r"^enable 2 not a bool \(0 or 1\)$"):
        encode_synapse_driver(0, SynapseDriverConfig(enable=2))
    with pytest.raises(ValueError, match=r"^rows\[1\] decoder\[0\] 4 out of range 0..3$"):
        encode_synapse_driver(0, SynapseDriverConfig(rows=(RowConfig(),
                                                           RowConfig(decoder=(4, 0)))))
    with pytest.raises(ValueError, match=r"^rows\[0\] gmax_div\[1\] 16 out of range 0..15$"):
        encode_synapse_driver(0, SynapseDriverConfig(rows=(RowConfig(gmax_div=(0, 16)),
                                                           RowConfig())))
    with pytest.raises(ValueError, match=r"^synapse driver line 224 out of range 0..223$"):
        encode_synapse_driver(224, SynapseDriverConfig())
    with pytest.raises(ValueError, match=r"^drv_config: word 65536 out of range 0..0xffff$"):
        decode_synapse_driver(0, lambda c, a: 0x10000)
