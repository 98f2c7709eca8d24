"""Wafer-module FPGA: gateware and emulator."""
