package bmca

import "github.com/roko-network/roko-ptpd/ptp"

// Dataset is the data set the comparison works on (IEEE 1588-2019 9.3.4):
// what an Announce says about its grandmaster, plus the topology fields
// that break ties between two paths to the same grandmaster.
type Dataset struct {
	GrandmasterPriority1    uint8
	GrandmasterIdentity     ptp.ClockIdentity
	GrandmasterClockQuality ptp.ClockQuality
	GrandmasterPriority2    uint8
	// LocalPriority is the G.8275.x localPriority of the port the Announce
	// came in on (or of the local clock); the IEEE 1588 comparison ignores
	// it.
	LocalPriority uint8
	StepsRemoved  uint16
	// Sender is the sourcePortIdentity of the Announce ("identity of
	// sender" in Figure 35); for the local clock, its own identity with
	// portNumber 0.
	Sender ptp.PortIdentity
	// Receiver is the port that received the Announce ("identity of
	// receiver"); for the local clock, the same as Sender.
	Receiver ptp.PortIdentity
}

// FromAnnounce builds the data set of an Announce received on port
// receiver, whose localPriority is localPriority.
func FromAnnounce(a *ptp.Announce, receiver ptp.PortIdentity, localPriority uint8) Dataset {
	return Dataset{
		GrandmasterPriority1:    a.GrandmasterPriority1,
		GrandmasterIdentity:     a.GrandmasterIdentity,
		GrandmasterClockQuality: a.GrandmasterClockQuality,
		GrandmasterPriority2:    a.GrandmasterPriority2,
		LocalPriority:           localPriority,
		StepsRemoved:            a.StepsRemoved,
		Sender:                  a.SourcePortIdentity,
		Receiver:                receiver,
	}
}

// Local builds D0, the data set of the local clock from its defaultDS
// (IEEE 1588-2019 9.3.4: stepsRemoved 0, sender and receiver the clock
// itself with portNumber 0).
func Local(clockIdentity ptp.ClockIdentity, priority1 uint8, quality ptp.ClockQuality, priority2, localPriority uint8) Dataset {
	self := ptp.PortIdentity{ClockIdentity: clockIdentity}
	return Dataset{
		GrandmasterPriority1:    priority1,
		GrandmasterIdentity:     clockIdentity,
		GrandmasterClockQuality: quality,
		GrandmasterPriority2:    priority2,
		LocalPriority:           localPriority,
		Sender:                  self,
		Receiver:                self,
	}
}
