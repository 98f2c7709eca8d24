"""Shared cycle-program harness for the NeuronControl tests: run the same per-cycle program on the
gateware (amaranth.sim) and on the reference model and record dnc_out + loss counters per cycle.

A program is a list of cycles; a cycle is a dict with optional ``fire`` (neuron-builder addresses),
``l2`` ({HW channel: addr}) and ``write`` ((block, local address, data)). A write cycle drives the
bus strobe; the register update happens at the end of that cycle (model: ``write`` right after
that cycle's ``step``). :meth:`Program.write` appends the write cycle and the ack cycle.
"""

from amaranth.sim import Simulator

from bss1.models.neuron_control import NeuronControlModel
from bss1.rtl.neuron_control import NeuronControl
from bss1.rtl.registers import NEURON_BUILDER

COUNTERS = ("lost", "lost_pe", "lost_merger", "lost_rx")


class Program:
    def __init__(self):
        self.cycles: list[dict] = []

    def write(self, block: str, addr: int, data: int) -> "Program":
        self.cycles += [{"write": (block, addr, data)}, {}]
        return self

    def writes(self, block: str, pairs) -> "Program":
        for addr, data in pairs:
            self.write(block, addr, data)
        return self

    def cycle(self, fire=(), l2=None) -> "Program":
        self.cycles.append({"fire": list(fire), "l2": dict(l2 or {})})
        return self

    def idle(self, n: int) -> "Program":
        for _ in range(n):
            self.cycle()
        return self

    def mark(self) -> int:
        """Index of the next cycle."""
        return len(self.cycles)


def run_model(program: Program):
    model = NeuronControlModel()
    outs, lost = [], []
    for cyc in program.cycles:
        lost.append(tuple(getattr(model, n) for n in COUNTERS))
        outs.append(model.step(cyc.get("fire", ()), cyc.get("l2")))
        if "write" in cyc:
            model.write(*cyc["write"])
    return outs, lost


def run_rtl(program: Program):
    dut = NeuronControl()
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    outs, lost = [], []

    async def tb(ctx):
        prev_fire, prev_l2 = 0, set()
        for cyc in program.cycles:
            fire = 0
            for n in cyc.get("fire", ()):
                fire |= 1 << n
            if fire != prev_fire:
                ctx.set(dut.fire, fire)
                prev_fire = fire
            l2 = cyc.get("l2") or {}
            for c in prev_l2 - set(l2):
                ctx.set(dut.l2_rx[c].valid, 0)
            for c, a in l2.items():
                ctx.set(dut.l2_rx[c].valid, 1)
                ctx.set(dut.l2_rx[c].addr, a)
            prev_l2 = set(l2)
            if "write" in cyc:
                block, addr, data = cyc["write"]
                bus = getattr(dut, block)
                ctx.set(bus.stb, 1)
                ctx.set(bus.we, 1)
                ctx.set(bus.addr, addr)
                ctx.set(bus.wdata, data)
            lost.append(tuple(ctx.get(getattr(dut, n)) for n in COUNTERS))
            outs.append({c: ctx.get(dut.dnc_out[c].addr) for c in range(8)
                         if ctx.get(dut.dnc_out[c].valid)})
            await ctx.tick()
            if "write" in cyc:
                assert ctx.get(bus.ack) == 1 and ctx.get(bus.err) == 0, cyc
                ctx.set(bus.stb, 0)

    sim.add_testbench(tb)
    sim.run()
    return outs, lost


def events(outs, start: int = 0):
    """Flatten per-cycle outputs into ``[(cycle, channel, addr), ...]`` from cycle ``start``."""
    return [(t, c, a) for t, o in enumerate(outs) if t >= start for c, a in sorted(o.items())]


def configure(program: Program, tree=None, entries=(), neuron_config=None, extra=()) -> Program:
    """Standard setup: neuron-builder entries, neuron config (released by default), merger tree
    (default: one_on_one), extra ``(addr, word)`` writes to neuron control."""
    from bss1.host.merger_tree import MergerTree, neuron_config_word
    tree = MergerTree.one_on_one() if tree is None else tree
    program.writes("neuron_builder", entries)
    nc_addr = NEURON_BUILDER.reg("neuron_config").address()
    program.write("neuron_builder", nc_addr,
                  neuron_config_word() if neuron_config is None else neuron_config)
    program.writes("neuron_control", tree.writes())
    program.writes("neuron_control", extra)
    return program
