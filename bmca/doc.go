// Package bmca is the best master clock algorithm of IEEE 1588-2019 9.3:
// the comparison of data sets (Figures 34 and 35, and the alternate
// comparison of ITU-T G.8275.1/G.8275.2 that linuxptp calls
// "dataset_comparison G.8275.x"), the foreign master records that qualify
// Announce senders (9.3.2.5, 9.5.3), and the state decision algorithm that
// recommends a state for each port (9.3.3, Figure 33).
//
// Everything here is a pure function of its inputs: no clocks are read,
// no timers run and nothing is logged. Time comes in as a monotonic
// duration the caller supplies, so the same code runs on a live port, in
// simulation and under capture replay. The package must never do I/O.
package bmca
