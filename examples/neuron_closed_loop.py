"""One HICANN in a closed loop: a background generator drives an AdEx neuron through L1, and the
neuron's spikes come back onto the same L1 line.

    python examples/neuron_closed_loop.py [--out DIR] [--cycles N]

The chip is configured with the host API (:class:`bss1.host.configurator.HICANNConfig`, written
in halbe's stages through a link to the chip's reference model):

    background generator 2 (regular, address 0x15) -> DNC merger -> sending repeater -> HLine
    -> crossbar -> VLine -> 4 synapse drivers (row decoders = address MSBs) -> synapses (decoders
    = address LSBs) -> a 4-denmem AdEx neuron (PyNN default parameters on the floating gates)
    -> priority encoder -> merger tree -> DNC merger -> the same sending repeater -> HLine.

The neuron sends address 0x3b, whose MSBs no driver decodes, so it does not excite itself. The
analog core is configured from the chip's state (neuron builder, driver SRAM, floating gates,
analog output) and coupled to the digital model cycle by cycle in windows of 8 cycles (the
neuron's 80 ns output delay). Writes ``membrane.npz`` and ``membrane.png`` into ``--out``.
"""

import argparse
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bss1.host import configurator as C  # noqa: E402
from bss1.host import hal  # noqa: E402
from bss1.host.floating_gates import FGConfig  # noqa: E402
from bss1.host.merger_tree import bg_period_for_isi  # noqa: E402
from bss1.models import coords  # noqa: E402
from bss1.models.analog_core import AnalogCore  # noqa: E402
from bss1.models.closed_loop import ClosedLoop  # noqa: E402
from bss1.models.hicann import HicannModel  # noqa: E402
from bss1.models.membrane_trace import write_npz  # noqa: E402
from bss1.models.transform import NeuronParameters, Scaling, SharedParameters  # noqa: E402

BG = 2                               # software BG index (hardware channel 5)
CHANNEL = coords.sw_to_hw8(BG)
BG_ADDRESS = 0x15                    # MSBs 1: the drivers' row decoders; LSBs 5: synapse decoders
ISI = 200                            # BG inter-event interval, core cycles (2 us hardware)
WEIGHT = 1                           # synapse weight 0..15
NEURON_X = 64 + 2 * 5                # left column of the 2 x 2 neuron (quad 37, neuron block 2)
NEURON_ADDRESS = (3 << 4) | 11       # MSBs 3: decoded by no driver
N_DRIVERS = 4
NEURON_BIO = {"delta_T": 1.0, "tau_refrac": 1.0}   # mV, ms; the rest PyNN's AdEx defaults
# one fast programming pass is enough for the ideal floating-gate cells of the model
FG_PASSES = ((FGConfig(maxcycle=0, readtime=0, acceleratorstep=0, voltagewritetime=1,
                       currentwritetime=1, pulselength=0), "up"),)


def route():
    """(sending HLine, VLine, switch side, driver lines) of the BG's channel."""
    y = coords.sending_hline(CHANNEL)
    v = coords.crossbar_vlines(y)[1]
    side = "left" if v < 128 else "right"
    lines = [L for L in range(224) if coords.synapse_switch_exists(v, side, L)
             and coords.synapse_switch_target(side, L)[0] == "local"][:N_DRIVERS]
    return y, v, side, lines


def hicann_config(weight=WEIGHT):
    """The whole chip's configuration in user coordinates."""
    cfg = C.HICANNConfig()
    tree = hal.MergerTree.one_on_one()
    for d in range(8):
        tree[hal.DNCMerger(d)] = hal.MergerConfig(hal.MergerMode.RIGHT_ONLY, slow=True)
    cfg.merger_tree = tree
    bgs = list(cfg.background_generators)
    bgs[BG] = hal.BackgroundGenerator(BG, period=bg_period_for_isi(ISI), address=BG_ADDRESS)
    cfg.background_generators = tuple(bgs)
    y, v, side, lines = route()
    cfg.repeaters[hal.HRepeaterOnHICANN(y)] = hal.RepeaterConfig(hal.RepeaterMode.OUTPUT,
                                                                 hal.Direction.INWARD)
    cfg.crossbar[(y, side)] = tuple(x == v for x in hal.crossbar_side_vlines(y, side))
    msb, lsb = BG_ADDRESS >> 4, BG_ADDRESS & 15
    row = hal.RowConfig(syn_in=(1, 0), selgmax=0, gmax_div=(2, 0), decoder=(msb, msb))
    on_neuron = [int(c in (NEURON_X, NEURON_X + 1)) for c in range(256)]
    for L in lines:
        cfg.synapse_switches[(side, L)] = tuple(x == v for x in
                                                coords.synapse_switch_vlines(side, L))
        cfg.drivers[L] = hal.SynapseDriverConfig(enable=1, locin=1, rows=(row, row))
        for r in (2 * L, 2 * L + 1):                 # SynapseRowOnHICANN of the driver's rows
            cfg.weights[r] = tuple(weight * k for k in on_neuron)
        cfg.decoders[L] = (tuple(lsb * k for k in on_neuron),) * 2
    # the neuron: a 2 x 2 quad, upper-left denmem fires, sends NEURON_ADDRESS and is read out
    fire = hal.Neuron(NEURON_ADDRESS, activate_firing=True, enable_spl1_output=True,
                      enable_aout=True)
    cfg.quads[NEURON_X // 2] = hal.NeuronQuad((fire, hal.Neuron(), hal.Neuron(), hal.Neuron()),
                                              vertical=(True, True), horizontal=(True, True))
    # PyNN default AdEx parameters on every denmem's floating gates
    # (delta_T and tau_refrac inside the default calibration's range)
    neuron = dict(NeuronParameters(NEURON_BIO).to_fg(Scaling()))
    shared = dict(SharedParameters().to_fg(Scaling()))
    cfg.floating_gates = hal.fg_blocks_from_parameters([neuron] * 512, [shared] * 4)
    cfg.fg_passes = FG_PASSES
    return cfg, lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="output directory (default: a new temporary one)")
    ap.add_argument("--cycles", type=int, default=4000, help="core cycles to run (multiple of 8)")
    ap.add_argument("--weight", type=int, default=WEIGHT, help="synapse weight 0..15")
    args = ap.parse_args()
    if args.cycles <= 0 or args.cycles % 8:
        ap.error(f"--cycles {args.cycles} is not a positive multiple of 8")
    out = args.out or Path(tempfile.mkdtemp(prefix="bss1_closed_loop_"))
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    cfg, lines = hicann_config(args.weight)
    core = AnalogCore()
    model = HicannModel(synapse_array=core.array)      # the controllers write the core's array
    link = hal.ModelLink(model)                        # chip time passes with each access
    n = C.configure(link, cfg, progress=lambda s, i, k: print(f"  stage {i}/{k} {s}", flush=True))
    hal.set_analog(link, (hal.AnalogOutput(hal.membrane_source(NEURON_X, 0), True),
                          hal.AnalogOutput()))
    assert not model.drivers.writes_pending            # configure() waited for the drivers
    print(f"configured the chip with {n} writes in {time.monotonic() - t0:.1f} s")

    analog = core.configure_from_model(model)          # neurons, drivers, FG, analog output
    denmem = NEURON_X                                  # shown on analog output 0: recorded
    quad = [NEURON_X, NEURON_X + 1, 256 + NEURON_X, 257 + NEURON_X]
    assert len({int(core.neurons.neuron_of_denmem[d]) for d in quad}) == 1 and analog.aout[denmem]
    print(f"analog core: {int((core.array.weights('top') != 0).sum())} synapses written through "
          f"the synapse controller, one neuron of denmems {quad}, membrane of denmem {denmem} on "
          f"analog output 0")
    core.neurons.cycle = model.cycle
    loop = ClosedLoop(model, core)
    rec = loop.run(args.cycles)
    t, v = core.neurons.read_trace()
    v = v[0]

    y = coords.sending_hline(CHANNEL)
    fire_line = coords.neuron_nb_address(NEURON_X, 0)
    strobes = sorted({c for c, *_ in rec.strobes})
    fires = [c for c, nn in rec.fire if nn == fire_line]
    bg_events = [c for c, yy, a in rec.hline if yy == y and a == BG_ADDRESS]
    neuron_events = [c for c, yy, a in rec.hline if yy == y and a == NEURON_ADDRESS]

    # -- files and picture ------------------------------------------------------------------
    cycle_us = core.cycle_time * 1e6                   # one core cycle in hardware microseconds
    scaling = Scaling()
    t_us = t * 1e6
    bio_ms = core.cycle_time * scaling.speedup * 1e3   # one core cycle in biological ms
    write_npz(out / "membrane.npz", t, v[None, :], [denmem], strobe=strobes, fire=fires,
              hline_bg=bg_events, hline_neuron=neuron_events)
    fig, ax = plt.subplots(figsize=(10, 4.5), constrained_layout=True)
    ax.plot(t_us, v, lw=0.8, color="k", label=f"membrane of denmem {denmem}")
    for k, c in enumerate(strobes):
        ax.axvline(c * cycle_us, color="tab:blue", lw=0.6, alpha=0.5,
                   label="synapse-driver strobe" if k == 0 else None)
    for k, c in enumerate(neuron_events):
        ax.plot(c * cycle_us, v.max() + 0.03, "v", color="tab:red", ms=5,
                label=f"neuron's L1 event (address {NEURON_ADDRESS:#x}) on HLine {y}"
                if k == 0 else None)
    ax.set_xlabel("hardware time (µs)")
    ax.set_ylabel("membrane (V, hardware)")
    ax.set_xlim(t_us[0], t_us[-1])
    ax.set_ylim(v.min() - 0.02, v.max() + 0.12)
    top = ax.secondary_xaxis("top", functions=(lambda x: x * 1e-6 * scaling.speedup * 1e3,
                                               lambda x: x * 1e-3 / scaling.speedup * 1e6))
    top.set_xlabel("biological time (ms)")
    right = ax.secondary_yaxis("right", functions=(scaling.voltage_bio, scaling.voltage))
    right.set_ylabel("membrane (mV, biological)")
    ax.legend(loc="upper right", ncol=3, fontsize=8)
    fig.savefig(out / "membrane.png", dpi=120)
    plt.close(fig)

    def when(c):
        return f"cycle {c:5d} = {c * cycle_us:6.2f} µs = {c * bio_ms:6.1f} ms bio"

    print(f"ran {args.cycles} core cycles ({args.cycles * cycle_us:.0f} µs hardware, "
          f"{args.cycles * bio_ms:.0f} ms biological) in {time.monotonic() - t0:.1f} s")
    print(f"{len(strobes)} strobe times ({len(rec.strobes)} driver strobes), {len(fires)} spikes")
    print(f"spikes of the neuron (fire line {fire_line}, after the 80 ns output delay):")
    for c in fires:
        print(f"  {when(c)}")
    print(f"L1 events on the sending repeater's HLine {y}:")
    for c, yy, a in rec.hline:
        if yy == y:
            who = "background generator" if a == BG_ADDRESS else "neuron" \
                if a == NEURON_ADDRESS else "?"
            print(f"  {when(c)}  address {a:#04x}  ({who})")
    latency = sorted({e - f for e, f in zip(neuron_events, fires)})
    print(f"fire line -> HLine latency: {latency} cycles; "
          f"outputs: {out / 'membrane.npz'}, {out / 'membrane.png'}")
    assert len(fires) >= 3 and len(neuron_events) == len(fires), "the neuron did not fire"


if __name__ == "__main__":
    main()
