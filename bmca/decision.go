package bmca

import "github.com/roko-network/roko-ptpd/ptp"

// Recommendation is the state decision algorithm's output for one port
// (IEEE 1588-2019 9.3.3, Figure 33): a recommended state, named by the
// decision point that chose it.
type Recommendation uint8

// Recommendations.
const (
	// Keep: no recommendation; the port stays as it is. This is the case
	// for a LISTENING port that has no qualified foreign master yet, and
	// for a port whose BMCA is "noop" with none either.
	Keep Recommendation = iota
	// M1: the local clock (clockClass 1–127) is better than anything this
	// port hears: grandmaster.
	M1
	// M2: the local clock is better than the best foreign master on any
	// port: grandmaster.
	M2
	// M3: another port has the best master, and this port's best is worse
	// by data, not by topology: master on this port.
	M3
	// P1: the local clock (clockClass 1–127) is worse than what this port
	// hears: passive, a grandmaster-capable clock never becomes a slave.
	P1
	// P2: this port hears the best master by a worse path: passive.
	P2
	// S1: this port received the best master: slave.
	S1
)

var recommendationNames = [...]string{"KEEP", "M1", "M2", "M3", "P1", "P2", "S1"}

func (r Recommendation) String() string {
	if int(r) < len(recommendationNames) {
		return recommendationNames[r]
	}
	return "RECOMMENDATION_?"
}

// State returns the port state the recommendation leads to: MASTER for
// M1–M3, PASSIVE for P1 and P2, SLAVE for S1, and 0 for Keep. (A port
// recommended SLAVE first passes through UNCALIBRATED; that is the port
// state machine's business, not the BMCA's.)
func (r Recommendation) State() ptp.PortState {
	switch r {
	case M1, M2, M3:
		return ptp.PortStateMaster
	case P1, P2:
		return ptp.PortStatePassive
	case S1:
		return ptp.PortStateSlave
	}
	return 0
}

// GrandMaster reports whether the recommendation makes the local clock the
// grandmaster (M1, M2): linuxptp's "assuming the grand master role".
func (r Recommendation) GrandMaster() bool { return r == M1 || r == M2 }

// Input is what the state decision needs to know about one port.
type Input struct {
	// D0 is the local clock's data set (Local).
	D0 Dataset
	// ClockClass is the local clock's defaultDS clockClass; 1–127 marks a
	// clock that may only be a grandmaster.
	ClockClass uint8
	// Ebest is the best qualified foreign master over all the clock's
	// ports; nil if there is none.
	Ebest *Dataset
	// EbestOnThisPort reports whether Ebest was received on this port.
	EbestOnThisPort bool
	// Erbest is this port's best qualified foreign master; nil if none.
	Erbest *Dataset
	// State is the port's current state.
	State ptp.PortState
	// Noop is set when the port's BMCA is "noop" (its role is fixed by
	// serverOnly or clientOnly).
	Noop bool
}

// Decide runs the state decision algorithm of IEEE 1588-2019 Figure 33 for
// one port, comparing data sets with cmp.
func Decide(in Input, cmp Comparison) Recommendation {
	if in.Erbest == nil && (in.Noop || in.State == ptp.PortStateListening) {
		return Keep
	}
	if in.ClockClass >= 1 && in.ClockClass <= 127 {
		if in.Erbest == nil || cmp(&in.D0, in.Erbest).AWins() {
			return M1
		}
		return P1
	}
	if in.Ebest == nil || cmp(&in.D0, in.Ebest).AWins() {
		return M2
	}
	if in.EbestOnThisPort {
		return S1
	}
	if in.Erbest != nil && cmp(in.Ebest, in.Erbest) == ABetterByTopology {
		return P2
	}
	return M3
}

// BestOf returns the better of two optional data sets under cmp (either
// may be nil): how a clock folds its ports' Erbest into Ebest.
func BestOf(a, b *Dataset, cmp Comparison) *Dataset {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case cmp(b, a).AWins():
		return b
	}
	return a
}
