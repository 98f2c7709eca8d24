"""amaranth.sim helpers for block tests: bus transactions and event streams (async testbenches)."""

from __future__ import annotations

__all__ = ["bus_write", "bus_read", "bus_access"]


async def bus_access(ctx, bus, addr: int, *, write: bool, data: int = 0, timeout: int = 10000):
    """One transaction on a :class:`~bss1.rtl.bus.BusSignature` master port driven by the
    testbench. Returns ``(rdata, err)``."""
    ctx.set(bus.stb, 1)
    ctx.set(bus.we, int(write))
    ctx.set(bus.addr, addr)
    ctx.set(bus.wdata, data)
    for _ in range(timeout):
        await ctx.tick()
        if ctx.get(bus.ack):
            rdata, err = ctx.get(bus.rdata), ctx.get(bus.err)
            ctx.set(bus.stb, 0)
            return rdata, err
    raise TimeoutError(f"no ack for {'write' if write else 'read'} of {addr:#06x} "
                       f"within {timeout} cycles")


async def bus_write(ctx, bus, addr: int, data: int) -> int:
    """Write; returns the err flag."""
    return (await bus_access(ctx, bus, addr, write=True, data=data))[1]


async def bus_read(ctx, bus, addr: int) -> tuple[int, int]:
    """Read; returns ``(data, err)``."""
    return await bus_access(ctx, bus, addr, write=False)
