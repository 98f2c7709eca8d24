"""HICANN digital core in Amaranth HDL (spec: hicann-digital.md).

Blocks live one per module; the register map is declared once in :mod:`bss1.rtl.registers` and
shared by the gateware, the reference models (:mod:`bss1.models`) and the host encoders.
"""
