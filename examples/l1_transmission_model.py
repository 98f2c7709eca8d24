"""Run the L1 transmission scenario on the HICANN reference model and print the captured times.

    python examples/l1_transmission_model.py [period]
"""

import sys

from bss1.host.demo import model_l1_transmission

period = int(sys.argv[1]) if len(sys.argv) > 1 else 150
result = model_l1_transmission(period)
for channel, r in result.items():
    print(f"channel {channel}: captured {r['entries']} differences {r['diffs']}")
assert all(r["diffs"] == [period, period] for r in result.values())
