"""Layer-1 events as cycle-level channels (spec §2.1; DESIGN decision 1).

An L1 line carries at most one event per core-clock cycle: ``valid`` plus the 6-bit address. Arrays
of lines are flat ``ArrayLayout`` ports so that they stay one vector in the generated Verilog.
"""

from amaranth.lib import data

__all__ = ["L1Event", "l1_array", "Strobe", "N_HLINES", "N_VLINES", "N_DRIVERS", "N_DENMEMS",
           "N_CHANNELS"]

N_HLINES = 64
N_VLINES = 256
N_DRIVERS = 224          # synapse drivers, indexed by driver line L (unique per line)
N_DENMEMS = 512
N_CHANNELS = 8           # DNC mergers / sending repeaters / L2 channels (HW index)

L1Event = data.StructLayout({"valid": 1, "addr": 6})


def l1_array(n: int) -> data.ArrayLayout:
    return data.ArrayLayout(L1Event, n)


# Synapse-driver strobe towards the analog core (DESIGN decision 4). ``strobe`` bit 2*r + p:
# row-on-driver r (0 = SynapseRow 2L, 1 = SynapseRow 2L+1), column parity p (0 even, 1 odd);
# ``addr`` = the 4 LSBs of the L1 address (synapse decoder value). One per driver line L.
Strobe = data.StructLayout({"strobe": 4, "addr": 4})
