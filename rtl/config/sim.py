"""amaranth.sim helper: run a :class:`~bss1.models.config_arq.HostArq` against the configuration
interface gateware (spec hicann-digital.md §9.1).

:func:`arq_transact` is an async testbench routine. It moves packets every cycle between a
``HostArq`` and anything with the stream ports of
:class:`~bss1.rtl.config.interface.ConfigInterface` (``rx: In(stream)``, ``tx: Out(stream)`` of
64-bit packets), optionally through fault-injecting channels, until the host has every transaction
acknowledged and answered.
"""

from __future__ import annotations

from collections import deque

__all__ = ["arq_transact"]


async def arq_transact(ctx, iface, host, *, start: int | None = None, max_cycles: int = 200_000,
                       to_chip=None, to_host=None, log: list | None = None,
                       tx_ready=None, rx=None, tx=None) -> int:
    """Pump packets until ``host.done()``; returns the cycle count (``now``) at the end.

    Parameters
    ----------
    ctx : amaranth.sim testbench context
    iface : object with ``rx`` / ``tx`` stream ports (e.g. ``ConfigInterface`` or the chip top
        re-exporting them)
    host : HostArq with queued ``write`` / ``read`` calls
    start : int or None
        Time (cycles) of the first cycle, passed to ``host.poll``; ``None`` continues from the
        host's last poll time (``host.now``), so consecutive calls need no bookkeeping.
    max_cycles : int
        Give up with ``TimeoutError`` after this many cycles.
    to_chip, to_host : LossyChannel or None
        Channels with ``send(packet, now)``, ``deliver(now)`` and ``len()``; ``None`` = direct.
    log : list or None
        If given, gets ``("rx", cycle, packet)`` for every packet the gateware took on ``rx`` and
        ``("tx", cycle, packet)`` for every packet it sent on ``tx``.
    tx_ready : callable ``tx_ready(cycle) -> bool`` or None
        Back-pressure on ``tx`` (``None``: always ready).
    rx, tx : stream interfaces or None
        Use these instead of ``iface.rx`` / ``iface.tx`` (e.g. ``rx=hicann.cfg_rx,
        tx=hicann.cfg_tx``; ``iface`` may then be ``None``).

    The gateware's ``tx.ready`` is driven while pumping and set to 0 on return, so packets
    sent afterwards wait in the gateware instead of being lost.
    """
    inbox: deque[int] = deque()
    start = host.now if start is None else start
    rx = iface.rx if rx is None else rx
    tx = iface.tx if tx is None else tx
    cycle = start
    try:
        for cycle in range(start, start + max_cycles):
            for packet in host.poll(cycle):
                if to_chip is None:
                    inbox.append(packet)
                else:
                    to_chip.send(packet, cycle)
            if to_chip is not None:
                inbox.extend(to_chip.deliver(cycle))
            if inbox:
                ctx.set(rx.payload, inbox[0])
                ctx.set(rx.valid, 1)
                taken = ctx.get(rx.ready)
            else:
                ctx.set(rx.valid, 0)
                taken = False
            ready = 1 if tx_ready is None else int(bool(tx_ready(cycle)))
            ctx.set(tx.ready, ready)
            sent = ctx.get(tx.payload) if ready and ctx.get(tx.valid) else None
            await ctx.tick()
            if taken:
                packet = inbox.popleft()
                if log is not None:
                    log.append(("rx", cycle, packet))
            if sent is not None:
                if log is not None:
                    log.append(("tx", cycle, sent))
                if to_host is None:
                    host.receive(sent)
                else:
                    to_host.send(sent, cycle)
            if to_host is not None:
                for packet in to_host.deliver(cycle):
                    host.receive(packet)
            if (host.done() and not inbox and sent is None
                    and not ctx.get(tx.valid) and (to_chip is None or not len(to_chip))):
                return cycle + 1
        raise TimeoutError(f"configuration transactions not done within {max_cycles} cycles")
    finally:
        ctx.set(rx.valid, 0)
        ctx.set(tx.ready, 0)
