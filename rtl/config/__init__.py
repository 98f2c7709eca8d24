"""Configuration path: control-interface packets, chip-side ARQ, OCP-like bus (spec §9)."""
