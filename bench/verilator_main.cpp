// Native Verilator driver for bench/hicann_rtl.py: no Python in the loop.
//
// Usage: hicann_test <packets.txt> <cycles>
// packets.txt holds one 64-bit control-interface packet per line (hex), produced by the host
// stack (bss1.host.scenarios + bss1.rtl.config.packet). They are pushed through cfg_rx with the
// valid/ready handshake; then the design runs <cycles> core cycles untouched. Prints one JSON
// line: cycles, wall seconds, strobe events counted by the stub analog core, bus errors.
// The model is the bench top of bench/hicann_rtl.py: the design with its reset driven by an
// internal power-on counter (high for the first 4 clock edges), so there is no rst input.
#include "Vtop.h"
#include "verilated.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <vector>

static void tick(Vtop* top) {
    top->clk = 1;
    top->eval();
    top->clk = 0;
    top->eval();
}

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s packets.txt cycles\n", argv[0]);
        return 2;
    }
    std::vector<uint64_t> packets;
    FILE* f = std::fopen(argv[1], "r");
    if (!f) {
        std::fprintf(stderr, "cannot open %s\n", argv[1]);
        return 2;
    }
    uint64_t word;
    while (std::fscanf(f, "%" SCNx64, &word) == 1) packets.push_back(word);
    std::fclose(f);
    const long cycles = std::atol(argv[2]);

    Verilated::commandArgs(argc, argv);
    Vtop* top = new Vtop;
    top->cfg_rx___05Fvalid = 0;
    top->cfg_tx___05Fready = 1;
    top->fire_cmd___05Fvalid = 0;
    top->l2_in___05Fvalid = 0;
    top->l2_out___05Fready = 1;
    top->systime_reset = 0;
    top->clk = 0;
    top->eval();
    for (int i = 0; i < 4; i++) tick(top);     // power-on reset

    // configuration: one packet offered per cycle, held until accepted
    size_t next = 0;
    long config_cycles = 0;
    while (next < packets.size() && config_cycles < 10000000) {
        top->cfg_rx___05Fvalid = 1;
        top->cfg_rx___05Fpayload = packets[next];
        top->eval();
        const bool accepted = top->cfg_rx___05Fready;
        tick(top);
        if (accepted) next++;
        config_cycles++;
    }
    top->cfg_rx___05Fvalid = 0;
    for (int i = 0; i < 2000; i++) tick(top);   // SRAM writes settle, first events flow

    const uint32_t s0 = top->strobe_events;
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < cycles; i++) tick(top);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("{\"cycles\": %ld, \"wall_s\": %.6f, \"strobe_events\": %u, \"bus_errors\": %u, "
                "\"config_packets\": %zu, \"config_cycles\": %ld}\n",
                cycles, wall, (unsigned)(top->strobe_events - s0), (unsigned)top->bus_errors,
                next, config_cycles);
    top->final();
    delete top;
    return next == packets.size() ? 0 : 1;
}
