"""HALbe-like host configuration API of one HICANN (spec host-stack.md §3.1-§3.2): stateless
``set_X(link, coordinate..., config)`` / ``get_X(link, coordinate...) -> config`` in user
coordinates with frozen-dataclass containers, encoding exactly the chip's register words
(:data:`~bss1.rtl.registers.HICANN_MAP`).

This module gathers the families:

* :mod:`bss1.host.hal_link` — the link protocol and adapters, queries, SRAM timings;
* :mod:`bss1.host.hal_l1` — repeaters, repeater blocks, crossbar and synapse-switch rows;
* :mod:`bss1.host.hal_neurons` — merger tree / DNC mergers, phase, BGs, GbitLink, neuron
  builder (quads, neuron config);
* :mod:`bss1.host.hal_synapses` — synapse drivers, synapse controllers (CNFG, LUTs, SYNRST),
  weights and decoders;
* :mod:`bss1.host.hal_fg` — floating-gate blocks (programming, RAM / OP / BIAS / SLAVE
  read-back).

Every set_X has ``X_writes(...)`` (the writes, for batching) and every get_X an ``X_query(...)``
(:class:`~bss1.host.hal_link.Query`, for :func:`~bss1.host.hal_link.run_queries`).
"""

from .floating_gates import COARSE, DEFAULT_PASSES, FINE, FGConfig
from .gbitlink import GbitLink, GbitLinkDirection
from .hal_fg import *          # noqa: F401,F403
from .hal_fg import __all__ as _fg_all
from .hal_l1 import *          # noqa: F401,F403
from .hal_l1 import __all__ as _l1_all
from .hal_link import *        # noqa: F401,F403
from .hal_link import __all__ as _link_all
from .hal_neurons import *     # noqa: F401,F403
from .hal_neurons import __all__ as _neurons_all
from .hal_synapses import *    # noqa: F401,F403
from .hal_synapses import __all__ as _synapses_all
from .l1_config import Direction, RepeaterMode
from .merger_tree import (BackgroundGenerator, DNCMerger, Merger0, Merger1, Merger2, Merger3,
                          MergerConfig, MergerMode, MergerTree)
from .synapse_driver import RowConfig, SynapseDriverConfig

__all__ = [*_link_all, *_l1_all, *_neurons_all, *_synapses_all, *_fg_all, "FGConfig", "COARSE",
           "FINE", "DEFAULT_PASSES", "GbitLink", "GbitLinkDirection",
           "Direction", "RepeaterMode", "BackgroundGenerator", "DNCMerger", "Merger0", "Merger1",
           "Merger2", "Merger3", "MergerConfig", "MergerMode", "MergerTree", "RowConfig",
           "SynapseDriverConfig"]
