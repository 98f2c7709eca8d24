"""Test-wide settings: Amaranth converts with the bundled (WebAssembly) Yosys, as in CI."""

import os

os.environ.setdefault("AMARANTH_USE_YOSYS", "builtin")
