package bmca

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/roko-network/roko-ptpd/ptp"
)

// Result is the outcome of comparing data set A with data set B (IEEE
// 1588-2019 Figures 34 and 35).
type Result int8

// Results. "By topology" means A and B describe the same grandmaster and
// differ only in the path to it; the state decision uses the distinction
// to choose PASSIVE over MASTER.
const (
	// Error1 is the standard's "error-1": the receiver of an Announce is
	// its own sender, a message that looped back.
	Error1 Result = 0
	// ABetter: A is the better grandmaster (or a much shorter path to the
	// same one).
	ABetter Result = 1
	// ABetterByTopology: same grandmaster, A is the better path.
	ABetterByTopology Result = 2
	// BBetter: B is the better grandmaster.
	BBetter Result = -1
	// BBetterByTopology: same grandmaster, B is the better path.
	BBetterByTopology Result = -2
	// Error2 is the standard's "error-2": A and B are the same Announce
	// received on the same port, which a correct caller never compares.
	Error2 Result = 3
)

// AWins reports whether A wins, by data or by topology.
func (r Result) AWins() bool { return r == ABetter || r == ABetterByTopology }

// BWins reports whether B wins, by data or by topology.
func (r Result) BWins() bool { return r == BBetter || r == BBetterByTopology }

func (r Result) String() string {
	switch r {
	case ABetter:
		return "A better"
	case ABetterByTopology:
		return "A better by topology"
	case BBetter:
		return "B better"
	case BBetterByTopology:
		return "B better by topology"
	case Error1:
		return "error-1"
	case Error2:
		return "error-2"
	}
	return fmt.Sprintf("Result(%d)", int8(r))
}

// Comparison compares two data sets. IEEE1588 and G8275 are the two the
// standard and its telecom profiles define.
type Comparison func(a, b *Dataset) Result

// comparePortIdentity orders port identities as octet strings: the clock
// identity's octets, then the port number. IEEE 1588-2019 7.5.2.4 compares
// identities as unsigned integers, which is the same order; a signed
// difference of two 64-bit identities would get it wrong.
func comparePortIdentity(a, b ptp.PortIdentity) int {
	if c := bytes.Compare(a.ClockIdentity[:], b.ClockIdentity[:]); c != 0 {
		return c
	}
	switch {
	case a.PortNumber < b.PortNumber:
		return -1
	case a.PortNumber > b.PortNumber:
		return 1
	}
	return 0
}

// IEEE1588 is the data set comparison of IEEE 1588-2019 9.3.4 (Figure 34,
// and Figure 35 when A and B name the same grandmaster). Lower values win
// throughout: priority1, clockClass, clockAccuracy,
// offsetScaledLogVariance, priority2, and last the grandmaster identity.
func IEEE1588(a, b *Dataset) Result {
	if a.GrandmasterIdentity == b.GrandmasterIdentity {
		return compareTopology(a, b)
	}
	if r := compareUint(a.GrandmasterPriority1, b.GrandmasterPriority1); r != 0 {
		return r
	}
	if r := compareQuality(a.GrandmasterClockQuality, b.GrandmasterClockQuality); r != 0 {
		return r
	}
	if r := compareUint(a.GrandmasterPriority2, b.GrandmasterPriority2); r != 0 {
		return r
	}
	if bytes.Compare(a.GrandmasterIdentity[:], b.GrandmasterIdentity[:]) < 0 {
		return ABetter
	}
	return BBetter
}

// G8275 is the alternate data set comparison of ITU-T G.8275.1 and
// G.8275.2 (6.3 of both, linuxptp's "G.8275.x"): priority1 is not used,
// localPriority breaks ties after priority2, and for a grandmaster-capable
// class (clockClass ≤ 127) the grandmaster identity is not compared so that
// two equal grandmasters are told apart by topology alone.
func G8275(a, b *Dataset) Result {
	if r := compareQuality(a.GrandmasterClockQuality, b.GrandmasterClockQuality); r != 0 {
		return r
	}
	if r := compareUint(a.GrandmasterPriority2, b.GrandmasterPriority2); r != 0 {
		return r
	}
	if r := compareUint(a.LocalPriority, b.LocalPriority); r != 0 {
		return r
	}
	if a.GrandmasterClockQuality.ClockClass <= 127 || a.GrandmasterIdentity == b.GrandmasterIdentity {
		return compareTopology(a, b)
	}
	if bytes.Compare(a.GrandmasterIdentity[:], b.GrandmasterIdentity[:]) < 0 {
		return ABetter
	}
	return BBetter
}

func compareUint[T ~uint8 | ~uint16](a, b T) Result {
	switch {
	case a < b:
		return ABetter
	case a > b:
		return BBetter
	}
	return 0
}

func compareQuality(a, b ptp.ClockQuality) Result {
	if r := compareUint(a.ClockClass, b.ClockClass); r != 0 {
		return r
	}
	if r := compareUint(a.ClockAccuracy, b.ClockAccuracy); r != 0 {
		return r
	}
	return compareUint(a.OffsetScaledLogVariance, b.OffsetScaledLogVariance)
}

// compareTopology is Figure 35: two data sets that name the same
// grandmaster, told apart by stepsRemoved and then by who sent and who
// received them.
func compareTopology(a, b *Dataset) Result {
	sa, sb := int(a.StepsRemoved), int(b.StepsRemoved)
	switch {
	case sa+1 < sb:
		return ABetter
	case sb+1 < sa:
		return BBetter
	case sa < sb: // B is one step longer: is B our own Announce come back?
		switch c := comparePortIdentity(b.Receiver, b.Sender); {
		case c < 0:
			return ABetter
		case c > 0:
			return ABetterByTopology
		}
		return Error1
	case sa > sb:
		switch c := comparePortIdentity(a.Receiver, a.Sender); {
		case c < 0:
			return BBetter
		case c > 0:
			return BBetterByTopology
		}
		return Error1
	}
	switch c := comparePortIdentity(a.Sender, b.Sender); {
	case c < 0:
		return ABetterByTopology
	case c > 0:
		return BBetterByTopology
	}
	switch {
	case a.Receiver.PortNumber < b.Receiver.PortNumber:
		return ABetterByTopology
	case a.Receiver.PortNumber > b.Receiver.PortNumber:
		return BBetterByTopology
	}
	return Error2
}

// ParseComparison returns the comparison a dataset_comparison option
// names: "ieee1588" or "G.8275.x" (case-insensitive, as ptp4l reads
// enumerations).
func ParseComparison(name string) (Comparison, error) {
	switch strings.ToLower(name) {
	case "ieee1588":
		return IEEE1588, nil
	case "g.8275.x":
		return G8275, nil
	}
	return nil, fmt.Errorf("bmca: dataset_comparison %q: want ieee1588 or G.8275.x", name)
}
