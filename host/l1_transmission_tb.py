"""cocotb testbench of the L1 transmission scenario on the generated HICANN test top (spec §12.4,
halbe's L1TransmissionTest): used by ``bss1 demo`` and by tests/cocotb/test_hicann.py.

Environment: BSS1_TB_PERIOD (BG period, default 150), BSS1_TB_CHANNELS (comma-separated HW
channels to capture, default all 8), BSS1_TB_OUT (JSON file for the captured entries).
"""

import json
import os

import cocotb

from bss1.host import scenarios
from bss1.host.cocotb_link import CocotbConfigLink
from bss1.host.l1_config import Direction, RepeaterMode, crossbar_row_write, repeater_write
from bss1.rtl.cocotb_util import ClockedTestbench

PERIOD_NS = 10


def _env_int(name, default):
    return int(os.environ.get(name, default))


async def start(dut):
    """Tie the test top's inputs, start the clock, reset."""
    for name in ("cfg_rx__valid", "cfg_rx__payload", "cfg_tx__ready", "fire_cmd__valid",
                 "fire_cmd__payload", "l2_in__valid", "l2_in__payload", "systime_reset"):
        getattr(dut, name).value = 0
    dut.l2_out__ready.value = 1
    tb = ClockedTestbench(dut, period_ns=PERIOD_NS)
    await tb.start()
    return tb


async def read_all(link, reads):
    handles = [link.read(tag, addr) for tag, addr in reads]
    await link.flush()
    return [h.data for h in handles]


@cocotb.test()
async def l1_transmission(dut):
    """All captured time differences equal the BG period exactly, on every channel."""
    tb = await start(dut)
    period = _env_int("BSS1_TB_PERIOD", 150)
    channels = [int(c) for c in os.environ.get("BSS1_TB_CHANNELS", "0,1,2,3,4,5,6,7").split(",")]
    link = CocotbConfigLink(dut)
    link.writes(scenarios.l1_transmission(period, capture_channel=channels[0]))
    await link.flush()
    results = {}
    prev = None
    for c in channels:
        tap = scenarios.capture_tap(c)
        if prev is not None:
            # move the tap: open the previous crossbar switch, idle its repeater, set the new one
            link.writes(crossbar_row_write(prev.hline, []))
            link.write(*repeater_write(("v", prev.vline), RepeaterMode.IDLE))
            link.writes(crossbar_row_write(tap.hline, [tap.vline]))
            link.write(*repeater_write(("v", tap.vline), RepeaterMode.INPUT, Direction.OUTWARD))
            link.writes(scenarios.arm_capture(tap))
            await link.flush()
        await tb.run_cycles(4 * period)
        entries = scenarios.decode_capture(await read_all(link, scenarios.capture_readout(tap)))
        diffs = [(b - a) % 1024 for (_, a), (_, b) in zip(entries, entries[1:])]
        results[c] = {"entries": entries, "diffs": diffs}
        dut._log.info(f"channel {c}: HLine {tap.hline} -> VLine {tap.vline} "
                      f"({tap.block} port {tap.port}): {entries} diffs {diffs}")
        assert [a for a, _ in entries] == [0, 0, 0], f"channel {c}: addresses {entries}"
        assert diffs == [period, period], f"channel {c}: differences {diffs} != {period}"
        prev = tap
    assert int(dut.bus_errors.value) == 0
    assert int(dut.l1_conflict.value) == 0
    out = os.environ.get("BSS1_TB_OUT")
    if out:
        with open(out, "w") as f:
            json.dump(results, f)
