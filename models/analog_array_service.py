"""Serving the synapse controllers' array access ports of
:class:`~bss1.rtl.analog_bridge.HicannAnalogTop` from the analog core's synapse array, in
``amaranth.sim`` and in cocotb (DESIGN decision 4: the synapse-array access port is part of the
analog boundary; protocol in :mod:`bss1.rtl.synapse_controller`, spec hicann-digital.md §5, §6).

HicannAnalogTop runs its chip under a clock enable (``run``), so the port's timing counts *run
cycles* only: a request starts in the run cycle after the enabled edge at which ``req`` rose (or
after the edge that took an ``ack`` with ``req`` still high: the next request), and it is
answered in the following run cycle, i.e. with latency 1 as
:class:`~bss1.rtl.stub_analog.NullSynapseArray` and HicannModel's default ``array_ack_latency``.
``ack`` stays high until an enabled edge has sampled it, whatever frozen cycles come between.
The operation is performed on the array (:func:`~bss1.models.synapse_controller.perform_access`)
when ``ack`` is raised, and its ``rdata`` / ``corr`` are held with it.

Cost: no Python per cycle. The server sleeps on ``req`` (amaranth ``ctx.posedge``, cocotb
``RisingEdge``) and wakes for two run edges per request (more only while the chip is frozen
with a request open).

Timing against the analog core: the window adapters step the core one window behind the RTL, so
an access acknowledged in run cycle ``c`` of the window ``[t, t + window)`` acts on the array as
the core stands at ``t``: a write takes effect for the whole window when the core steps it, and a
correlation read sees the sensors up to ``t``. Accesses made while no window runs (configuration
before the adapter starts, as in the tests) are exact.

``log``: if a list, every performed access is appended as ``(cycle, half, op, row, colset,
wdata_words, mask, patterns, scc, sca)`` with ``cycle`` the bridge's counter in the ``ack``
cycle.
"""

from __future__ import annotations

from ..rtl.synapse_array_port_sim import pack_words, unpack_words
from ..rtl.synapse_controller import SynapseArrayOp
from .synapse_controller import perform_access

__all__ = ["HALVES", "amaranth_array_service", "CocotbArrayService"]

HALVES = ("top", "bottom")
_FIELDS = ("row", "colset", "mask", "patterns", "scc", "sca")


def _check(array, halves):
    for half in halves:
        if half not in HALVES:
            raise ValueError(f"half {half!r} not one of 'top', 'bottom'")
    if not callable(getattr(array, "read_weights", None)):
        raise TypeError(f"synapse array {array!r} has no access methods (read_weights, ...)")


def _access(array, half, op, wdata, fields, log, cycle):
    row, colset, mask, patterns, scc, sca = fields
    rdata, corr = perform_access(array, half, op, row, colset, wdata, mask, patterns, scc, sca)
    if log is not None:
        log.append((cycle, half, op, row, colset, tuple(wdata), mask, patterns, scc, sca))
    return pack_words(rdata), pack_words(corr)


def amaranth_array_service(dut, array, *, halves=HALVES, log=None) -> list:
    """Background testbench functions (``sim.add_testbench(f, background=True)``), one per half,
    that answer ``dut.synapse_array_<half>`` from ``array`` (e.g. ``core.array``)."""
    _check(array, halves)

    def serve(half):
        port = getattr(dut, f"synapse_array_{half}")

        async def testbench(ctx):
            async def run_edge():
                while True:
                    _, _, ran = await ctx.tick().sample(dut.run)
                    if ran:
                        return

            ctx.set(port.ack, 0)
            while True:
                if not ctx.get(port.req):
                    await ctx.posedge(port.req)
                await run_edge()                    # the start cycle ran
                op = SynapseArrayOp(ctx.get(port.op))
                wdata = unpack_words(ctx.get(port.wdata), 4)
                fields = [ctx.get(getattr(port, n)) for n in _FIELDS]
                rdata, corr = _access(array, half, op, wdata, fields, log, ctx.get(dut.cycle))
                ctx.set(port.rdata, rdata)
                ctx.set(port.corr, corr)
                ctx.set(port.ack, 1)
                await run_edge()                    # the controller took the answer
                ctx.set(port.ack, 0)

        return testbench

    return [serve(h) for h in halves]


class CocotbArrayService:
    """cocotb coroutines that answer the array ports of the generated HicannAnalogTop from
    ``array``: ``start()`` after reset (before any synapse-controller command), ``stop()`` at the
    end. Works a quarter period after rising edges, as
    :class:`~bss1.models.analog_adapter.CocotbAnalogAdapter`."""

    def __init__(self, dut, array, *, halves=HALVES, period_ns: float = 10, clk: str = "clk",
                 log=None):
        _check(array, halves)
        from ..rtl.cocotb_util import handle
        period_ps = round(period_ns * 1000)
        if period_ps % 4:
            raise ValueError(f"clock period {period_ns!r} ns is not a multiple of 4 ps")
        self.quarter_ps = period_ps // 4
        self.array = array
        self.halves = tuple(halves)
        self.log = log
        self.clk = handle(dut, clk)
        self.run_h = handle(dut, "run")
        self.cycle_h = handle(dut, "cycle")
        self._ports = {h: {n: handle(dut, f"synapse_array_{h}__{n}") for n in (
            "req", "op", "wdata", "ack", "rdata", "corr", *_FIELDS)} for h in self.halves}
        self.requests = 0
        self._tasks = []

    def start(self) -> None:
        import cocotb
        for p in self._ports.values():
            p["ack"].value = 0
        self._tasks = [cocotb.start_soon(self._serve(h)) for h in self.halves]

    def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        self._tasks = []

    async def _run_edge(self):
        from cocotb.triggers import RisingEdge, Timer
        while True:
            await RisingEdge(self.clk)
            ran = str(self.run_h.value) == "1"       # the value the enabled edge used
            if ran:
                await Timer(self.quarter_ps, unit="ps")
                return

    async def _serve(self, half):
        from cocotb.triggers import RisingEdge
        p = self._ports[half]
        while True:
            if str(p["req"].value) != "1":
                await RisingEdge(p["req"])
            await self._run_edge()
            op = SynapseArrayOp(int(p["op"].value))
            wdata = unpack_words(int(p["wdata"].value), 4)
            fields = [int(p[n].value) for n in _FIELDS]
            rdata, corr = _access(self.array, half, op, wdata, fields, self.log,
                                  int(self.cycle_h.value))
            p["rdata"].value = rdata
            p["corr"].value = corr
            p["ack"].value = 1
            self.requests += 1
            await self._run_edge()
            p["ack"].value = 0
