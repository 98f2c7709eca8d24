"""One HICANN's digital core: configuration path, L1 fabric, event sources, synapse drivers
(spec hicann-digital.md §0 data flow, §9.2 address map, §11.1 module split).

The analog boundary is a pair of ports (DESIGN decision 4): ``fire`` (512 fire lines in, bit n =
the denmem with neuron-builder address n) and ``strobes`` (one :data:`~bss1.rtl.l1.Strobe` per
synapse-driver line). The layer-2 side goes through the DNC interface
(:class:`~bss1.rtl.dnc_interface.DncInterface`, §8): ``l2_in`` takes pulses from the DNC/FPGA
(:data:`~bss1.rtl.dnc_interface.L2Pulse`: timestamp, L1 address, HW channel), holds them in the
release buffers (GbitLink ``timestamp_enable``) or passes them straight on, and writes them into
input 1 of DNC merger c; the DNC merger output registers go to the sending repeaters and, on
channels enabled TO_DNC, are stamped with the system time and leave on ``l2_out``.
``systime_reset`` clears the 15-bit system time (``systime``); ``dnc_out`` shows the DNC merger
output registers (a monitor, like ``hline``). The SPL1 / GbitLink register (§8.2) and the DNC_IF
link-control register (§8.5) are served on the tag-0 bus. Neighbour
ports (N/E/S/W lines and the synapse-switch rows that cross to the neighbour's drivers) let chips
tile into a wafer (:func:`bss1.rtl.l1_fabric.connect_neighbours`).

Every block hangs off the configuration bus of its tag at its real base address; the decoders
are generated from :data:`~bss1.rtl.registers.HICANN_MAP`. Blocks of the map that have no gateware
yet answer with a bus error.

The four floating-gate controllers (§10) face the analog model through ``fg_write`` (one pulse
per programmed cell), ``fg_stim`` (current stimulus) and ``fg_readout``, indexed by
FGBlockOnHICANN (0 top left, 1 top right, 2 bottom left, 3 bottom right); ``fg_fail`` reports
cells that did not converge.
"""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .bus import BusDecoder
from .config.interface import ConfigInterface
from .dnc_interface import DncInterface, L2Pulse, check_core_mhz
from .fg_controller import (N_FG_COLUMNS, FGController, FGReadoutLayout, FGStimLayout,
                            FGWriteLayout)
from .l1 import N_CHANNELS, N_DENMEMS, N_DRIVERS, N_HLINES, N_VLINES, Strobe, l1_array
from .l1_fabric import L1Fabric
from .neuron_control import NeuronControl
from .registers import HICANN_MAP
from .synapse_controller import SynapseArrayPort
from .synapse_driver import SynapseDriverBank

__all__ = ["Hicann", "NEIGHBOUR_PORTS", "FG_BLOCKS"]

# HICANN_MAP instances of the floating-gate controllers in FGBlockOnHICANN order.
FG_BLOCKS = ("fg_top_left", "fg_top_right", "fg_bottom_left", "fg_bottom_right")

# (name, line count) of the neighbour ports; each exists as <name>_i and <name>_o.
NEIGHBOUR_PORTS = (("west", N_HLINES), ("east", N_HLINES), ("north", N_VLINES),
                   ("south", N_VLINES), ("west_drv", N_DRIVERS), ("east_drv", N_DRIVERS))


class Hicann(wiring.Component):
    """The HICANN top.

    Parameters
    ----------
    hop_latency : int
        Register stages per repeater hop (L1 fabric).
    arq_timeout : int
        Retransmission timeout of the chip-side configuration ARQ, in core cycles.
    core_mhz : int
        Core clock (100..250 MHz, steps of 25): system-time ticks per core cycle.

    Members
    -------
    cfg_rx : In(stream.Signature(64))
        Control-interface packets from the link (JTAG or layer 2).
    cfg_tx : Out(stream.Signature(64))
        Responses and acknowledgements.
    fire : In(512)
    strobes : Out(ArrayLayout(Strobe, 224))
    l2_in : In(stream.Signature(L2Pulse))
        Pulses from the DNC (always ready; losses are counted in the SPL1 counters).
    l2_out : Out(stream.Signature(L2Pulse))
        Timestamped pulses towards the DNC.
    systime_reset : In(1), systime : Out(15)
        System time (250 MHz ticks) and its reset.
    dnc_out : Out(l1_array(8))
        DNC merger output registers, for monitors.
    fg_write : Out(ArrayLayout(FGWriteLayout, 4)), fg_stim : Out(ArrayLayout(FGStimLayout, 4))
    fg_readout : Out(ArrayLayout(FGReadoutLayout, 4)), fg_fail : In(ArrayLayout(129, 4))
        Floating-gate controllers towards the analog model, by FGBlockOnHICANN.
    synapse_array_top, synapse_array_bottom : Out(SynapseArrayPort())
        The synapse controllers' access ports to the analog synapse arrays (weights, decoders,
        correlation flags); the analog side answers each request with ``ack``.
    hline : Out(l1_array(64)), vline : Out(l1_array(256))
        Line values, for monitors.
    <neighbour>_i / <neighbour>_o
    bus_errors, l1_conflict, syndrv_conflict, lost
        Status.
    """

    def __init__(self, *, hop_latency: int = 1, arq_timeout: int = 2000, core_mhz: int = 100):
        self.hop_latency = hop_latency
        self.arq_timeout = arq_timeout
        try:
            self.core_mhz = check_core_mhz(core_mhz)
        except ValueError:
            self._MustUse__silence = True      # a rejected component is no "unused" one
            raise
        members = {
            "cfg_rx": In(stream.Signature(64)),
            "cfg_tx": Out(stream.Signature(64)),
            "fire": In(N_DENMEMS),
            "strobes": Out(data.ArrayLayout(Strobe, N_DRIVERS)),
            "l2_in": In(stream.Signature(L2Pulse)),
            "l2_out": Out(stream.Signature(L2Pulse)),
            "systime_reset": In(1),
            "systime": Out(15),
            "dnc_out": Out(l1_array(N_CHANNELS)),
            "fg_write": Out(data.ArrayLayout(FGWriteLayout, len(FG_BLOCKS))),
            "fg_stim": Out(data.ArrayLayout(FGStimLayout, len(FG_BLOCKS))),
            "fg_readout": Out(data.ArrayLayout(FGReadoutLayout, len(FG_BLOCKS))),
            "fg_fail": In(data.ArrayLayout(N_FG_COLUMNS, len(FG_BLOCKS))),
            "synapse_array_top": Out(SynapseArrayPort()),
            "synapse_array_bottom": Out(SynapseArrayPort()),
            "hline": Out(l1_array(N_HLINES)),
            "vline": Out(l1_array(N_VLINES)),
            "bus_errors": Out(16),
            "l1_conflict": Out(1),
            "syndrv_conflict": Out(1),
            "lost": Out(32),
        }
        for name, n in NEIGHBOUR_PORTS:
            members[f"{name}_i"] = In(l1_array(n))
            members[f"{name}_o"] = Out(l1_array(n))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.config = cfg = ConfigInterface(timeout=self.arq_timeout)
        m.submodules.fabric = fabric = L1Fabric(hop_latency=self.hop_latency)
        m.submodules.neurons = neurons = NeuronControl()
        m.submodules.drivers = drivers = SynapseDriverBank()
        m.submodules.dnc = dnc = DncInterface(core_mhz=self.core_mhz)

        fgs = []
        for index, name in enumerate(FG_BLOCKS):
            m.submodules[name] = fg = FGController()
            fgs.append(fg)
            m.d.comb += [self.fg_write[index].eq(fg.fg_write), self.fg_stim[index].eq(fg.stim),
                         self.fg_readout[index].eq(fg.readout), fg.fail.eq(self.fg_fail[index])]

        # -- configuration buses, decoders generated from the address map ----------------------
        slaves = {}                                 # instance name -> the block's bus port
        mapped = {i.name for i in HICANN_MAP.instances}
        for block in (fabric, neurons, drivers, dnc):
            for name in block.signature.members:
                if name in mapped:
                    slaves[name] = getattr(block, name)
        slaves.update({name: fg.bus for name, fg in zip(FG_BLOCKS, fgs)})
        for tag, bus in ((0, cfg.bus0), (1, cfg.bus1)):
            names = [i.name for i in HICANN_MAP.tag_instances(tag) if i.name in slaves]
            dec = BusDecoder(HICANN_MAP, tag, names)
            m.submodules[f"decoder{tag}"] = dec
            wiring.connect(m, bus, dec.bus)
            for name in names:
                wiring.connect(m, dec.slave(name), slaves[name])

        wiring.connect(m, wiring.flipped(self.cfg_rx), cfg.rx)
        wiring.connect(m, cfg.tx, wiring.flipped(self.cfg_tx))
        wiring.connect(m, wiring.flipped(self.l2_in), dnc.l2_in)
        wiring.connect(m, dnc.l2_out, wiring.flipped(self.l2_out))

        # -- event path -------------------------------------------------------------------------
        m.d.comb += [
            neurons.fire.eq(self.fire),
            neurons.l2_rx.eq(dnc.merger_in),
            dnc.merger_out.eq(neurons.dnc_out),
            fabric.sending.eq(neurons.dnc_out),
            self.dnc_out.eq(neurons.dnc_out),
            dnc.systime_reset.eq(self.systime_reset),
            self.systime.eq(dnc.systime),
            drivers.drv_in.eq(fabric.drv_in),
            self.strobes.eq(drivers.strobes),
            self.hline.eq(fabric.hline),
            self.vline.eq(fabric.vline),
        ]
        for half in ("top", "bottom"):
            wiring.connect(m, getattr(drivers, f"synapse_array_{half}"),
                           wiring.flipped(getattr(self, f"synapse_array_{half}")))
        for name, _ in NEIGHBOUR_PORTS:
            m.d.comb += [getattr(fabric, f"{name}_i").eq(getattr(self, f"{name}_i")),
                         getattr(self, f"{name}_o").eq(getattr(fabric, f"{name}_o"))]

        # -- status ------------------------------------------------------------------------------
        m.d.comb += [
            self.bus_errors.eq(cfg.bus_errors),
            self.l1_conflict.eq(fabric.conflict),
            self.syndrv_conflict.eq(drivers.syndrv_conflict),
            self.lost.eq(neurons.lost),
        ]
        return m
