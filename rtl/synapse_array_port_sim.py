"""amaranth.sim servicing side of the synapse-array access port (spec hicann-digital.md §5, §6;
protocol in :mod:`bss1.rtl.synapse_controller`): answers the requests of a
:class:`~bss1.rtl.synapse_controller.SynapseController` from a Python synapse-array object
(``bss1.models.synapse_array.SynapseArray`` or anything with the same access methods).

Rules (mirrored by :class:`bss1.models.synapse_controller.SynapseControllerModel`): a request
starts in a cycle with ``req`` = 1 whose previous cycle had ``req`` = 0 or ``ack`` = 1; request
number ``n`` (from 0) is acknowledged ``latency(n)`` cycles later (``latency`` an int >= 1 or a
callable), and the operation is performed on the array in the ``ack`` cycle, whose ``rdata`` /
``corr`` carry its result.
"""

from bss1.models.synapse_controller import perform_access

from .synapse_controller import SynapseArrayOp

__all__ = ["serve_synapse_array", "pack_words", "unpack_words"]


def pack_words(words, width: int = 32) -> int:
    """Words (word i at bits [width*i + width-1 : width*i]) -> one integer."""
    out = 0
    for i, w in enumerate(words):
        out |= (w & ((1 << width) - 1)) << (width * i)
    return out


def unpack_words(value: int, n: int, width: int = 32) -> list[int]:
    return [(value >> (width * i)) & ((1 << width) - 1) for i in range(n)]


def serve_synapse_array(port, array, half: str, latency=1, log=None):
    """Return an async testbench function (``sim.add_testbench(f, background=True)``) that
    services ``port`` (the controller's ``array`` member) from ``array`` for synapse array
    ``half``. If ``log`` is a list, every acknowledged request is appended to it as
    ``(cycle, op, row, colset, wdata_words, mask, patterns, scc, sca)``, cycles counted from the
    first clock edge the function sees as 0 (the same numbering as
    :attr:`SynapseControllerModel.log` when both start at reset)."""
    if half not in ("top", "bottom"):
        raise ValueError(f"half {half!r} not one of 'top', 'bottom'")
    lat = latency if callable(latency) else (lambda n: latency)
    if not callable(latency) and (not isinstance(latency, int) or latency < 1):
        raise ValueError(f"ack latency {latency!r} out of range 1..")

    async def testbench(ctx):
        cycle = 0
        prev_req = prev_ack = False
        start = number = None
        n_requests = 0
        ctx.set(port.ack, 0)
        while True:
            req = bool(ctx.get(port.req))
            if req and (not prev_req or prev_ack):
                start, number = cycle, n_requests
                n_requests += 1
            ack = req and start is not None and cycle - start == lat(number)
            if ack:
                op = SynapseArrayOp(ctx.get(port.op))
                wdata = unpack_words(ctx.get(port.wdata), 4)
                fields = [ctx.get(getattr(port, n)) for n in
                          ("row", "colset", "mask", "patterns", "scc", "sca")]
                row, colset, mask, patterns, scc, sca = fields
                rdata, corr = perform_access(array, half, op, row, colset, wdata, mask,
                                             patterns, scc, sca)
                ctx.set(port.rdata, pack_words(rdata))
                ctx.set(port.corr, pack_words(corr))
                if log is not None:
                    log.append((cycle, op, row, colset, tuple(wdata), mask, patterns, scc, sca))
            ctx.set(port.ack, int(ack))
            prev_req, prev_ack = req, ack
            await ctx.tick()
            cycle += 1

    return testbench
