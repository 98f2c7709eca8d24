"""Configuration link into a simulated HICANN under cocotb (DESIGN decision 6).

:func:`cocotb_arq_transact` is the cocotb twin of :func:`bss1.rtl.config.sim.arq_transact`: it moves
64-bit control-interface packets between a :class:`~bss1.models.config_arq.HostArq` and the
``cfg_rx`` / ``cfg_tx`` valid/ready streams of the generated Verilog, one packet per cycle at most,
until every queued transaction is acknowledged and answered. It costs Python per cycle, so it is
used for configuration phases only; event traffic runs with the simulator left alone.
"""

from __future__ import annotations

__all__ = ["cocotb_arq_transact", "CocotbConfigLink"]


async def cocotb_arq_transact(dut, host, *, clk=None, prefix_rx: str = "cfg_rx",
                              prefix_tx: str = "cfg_tx", max_cycles: int = 500_000,
                              to_chip=None, to_host=None) -> int:
    """Pump packets until ``host.done()``; returns the host's cycle count at the end.

    ``to_chip`` / ``to_host``: optional fault-injecting channels (``send(packet, now)``,
    ``deliver(now)``, ``len()``, e.g. :class:`~bss1.models.config_arq.LossyChannel`)."""
    from cocotb.triggers import ReadOnly, RisingEdge

    clk = dut.clk if clk is None else clk
    rx_valid = getattr(dut, f"{prefix_rx}__valid")
    rx_ready = getattr(dut, f"{prefix_rx}__ready")
    rx_payload = getattr(dut, f"{prefix_rx}__payload")
    tx_valid = getattr(dut, f"{prefix_tx}__valid")
    tx_ready = getattr(dut, f"{prefix_tx}__ready")
    tx_payload = getattr(dut, f"{prefix_tx}__payload")

    inbox: list[int] = []
    driving = None            # packet currently offered on rx
    saw_rx_ready = False      # rx ready during the cycle that just ended
    saw_tx = None             # tx payload offered during the cycle that just ended
    now = host.now
    tx_ready.value = 1
    for _ in range(max_cycles):
        await RisingEdge(clk)
        now += 1
        # handshakes that completed at this edge (values sampled in the previous ReadOnly phase)
        if driving is not None and saw_rx_ready:
            driving = None
        if saw_tx is not None:
            if to_host is None:
                host.receive(saw_tx)
            else:
                to_host.send(saw_tx, now)
        if to_host is not None:
            for packet in to_host.deliver(now):
                host.receive(packet)
        if to_chip is None:
            inbox.extend(host.poll(now))
        else:
            for packet in host.poll(now):
                to_chip.send(packet, now)
            inbox.extend(to_chip.deliver(now))
        if host.done() and driving is None and not inbox:
            rx_valid.value = 0
            tx_ready.value = 0
            return now
        if driving is None and inbox:
            driving = inbox.pop(0)
        rx_valid.value = int(driving is not None)
        if driving is not None:
            rx_payload.value = driving
        tx_ready.value = 1
        await ReadOnly()
        saw_rx_ready = bool(int(rx_ready.value))
        saw_tx = tx_payload.value.to_unsigned() if int(tx_valid.value) else None
    raise TimeoutError(f"configuration transactions not finished after {max_cycles} cycles")


class CocotbConfigLink:
    """Blocking-style configuration access to a simulated chip: queue writes/reads, then
    ``await flush()``.

    >>> link = CocotbConfigLink(dut)
    >>> link.write(0, 0x4000, 0xFF); h = link.read(0, 0x4000)
    >>> await link.flush(); h.data
    """

    def __init__(self, dut, *, timeout: int = 2000, **kwargs):
        from ..models.config_arq import HostArq
        self.dut = dut
        self.host = HostArq(timeout=timeout)
        self.kwargs = kwargs

    def write(self, tag: int, addr: int, data: int) -> None:
        self.host.write(tag, addr, data)

    def writes(self, writes) -> None:
        for tag, addr, data in writes:
            self.host.write(tag, addr, data)

    def read(self, tag: int, addr: int):
        return self.host.read(tag, addr)

    async def flush(self) -> int:
        return await cocotb_arq_transact(self.dut, self.host, **self.kwargs)
