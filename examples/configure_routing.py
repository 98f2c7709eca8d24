"""Encode a small routing in user coordinates and show the configuration words it becomes.

A background generator's events leave DNC merger 0 on HLine 6, cross to VLine 28 and reach the
synapse driver on line 31 through its synapse-switch row; the script prints every write
(tag, address, data) and checks the route on the reference model.
"""

from bss1.host.l1_config import (Direction, RepeaterMode, crossbar_row_write,
                                 repeater_block_config_write, repeater_write,
                                 synapse_switch_row_write)
from bss1.host.scenarios import background_traffic, driver_writes
from bss1.host.synapse_driver import RowConfig, SynapseDriverConfig
from bss1.models import coords
from bss1.models.hicann import HicannModel
from bss1.rtl.registers import HICANN_MAP

channel, line = 0, 31
hline = coords.sending_hline(channel)
vline = coords.crossbar_vlines(hline)[0]
assert coords.synapse_switch_exists(vline, "left", line)
writes = background_traffic(period=100, address=0x25)
# repeater drivers come out of reset with 0: release drivers and DLLs of the centre-left block
writes.append(repeater_block_config_write("center_left", drvresetb=1, dllresetb=1))
writes.append(repeater_write(("h", hline), RepeaterMode.OUTPUT, Direction.INWARD))
writes += crossbar_row_write(hline, [vline])
writes.append(synapse_switch_row_write("left", line, [vline]))
row = RowConfig(syn_in=(1, 0), decoder=(0x25 >> 4, 0x25 >> 4))
writes += driver_writes(line, SynapseDriverConfig(enable=1, locin=1, rows=(row, row)))
for tag, addr, data in writes:
    inst, reg, idx = HICANN_MAP.decode(tag, addr, True)
    print(f"tag {tag} {addr:#06x} <- {data:#010x}   {inst.name}.{reg.name}[{idx}]")

model = HicannModel()
model.writes(writes)
strobes = []
for cycle in range(3000):
    for L, (strobe, addr) in model.step()["strobes"].items():
        strobes.append((cycle, L, strobe, addr))
print(f"{len(strobes)} strobes, first: {strobes[:3]}")
assert strobes and all(L == line and addr == 0x25 & 0xF for _, L, _, addr in strobes)
