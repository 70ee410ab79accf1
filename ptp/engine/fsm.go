package engine

import (
	"strconv"

	"github.com/roko-network/roko-ptpd/ptp"
)

// State is a port state (IEEE 1588-2019 9.2.5, Table 20), plus
// GrandMaster, linuxptp's name for a MASTER port of a clock that is itself
// the grandmaster. GrandMaster is MASTER on the wire and in management.
type State uint8

// Port states. The values of the standard's states are their wire values.
const (
	Initializing State = State(ptp.PortStateInitializing)
	Faulty       State = State(ptp.PortStateFaulty)
	Disabled     State = State(ptp.PortStateDisabled)
	Listening    State = State(ptp.PortStateListening)
	PreMaster    State = State(ptp.PortStatePreMaster)
	Master       State = State(ptp.PortStateMaster)
	Passive      State = State(ptp.PortStatePassive)
	Uncalibrated State = State(ptp.PortStateUncalibrated)
	Slave        State = State(ptp.PortStateSlave)
	GrandMaster  State = 10
)

// String returns linuxptp's name for the state, as its log lines print it.
func (s State) String() string {
	if s == GrandMaster {
		return "GRAND_MASTER"
	}
	return ptp.PortState(s).String()
}

// Wire returns the portState management and the wire report: GrandMaster is
// MASTER.
func (s State) Wire() ptp.PortState {
	if s == GrandMaster {
		return ptp.PortStateMaster
	}
	return ptp.PortState(s)
}

// IsMaster reports whether the port sends Sync and Announce in this state.
func (s State) IsMaster() bool { return s == Master || s == GrandMaster }

// IsSlave reports whether the port follows a master in this state
// (UNCALIBRATED or SLAVE).
func (s State) IsSlave() bool { return s == Uncalibrated || s == Slave }

// Event is an event of the port state machine (IEEE 1588-2019 9.2.6), named
// as linuxptp logs them.
type Event uint8

// Events.
const (
	EventNone Event = iota
	EventPowerup
	EventInitialize
	EventDesignatedEnabled
	EventDesignatedDisabled
	EventFaultCleared
	EventFaultDetected
	EventStateDecision
	EventQualificationTimeoutExpires
	EventAnnounceReceiptTimeoutExpires
	EventSynchronizationFault
	EventMasterClockSelected
	EventInitComplete
	EventRSMaster
	EventRSGrandMaster
	EventRSSlave
	EventRSPassive
)

var eventNames = [...]string{"NONE", "POWERUP", "INITIALIZE", "DESIGNATED_ENABLED",
	"DESIGNATED_DISABLED", "FAULT_CLEARED", "FAULT_DETECTED", "STATE_DECISION_EVENT",
	"QUALIFICATION_TIMEOUT_EXPIRES", "ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES",
	"SYNCHRONIZATION_FAULT", "MASTER_CLOCK_SELECTED", "INIT_COMPLETE", "RS_MASTER",
	"RS_GRAND_MASTER", "RS_SLAVE", "RS_PASSIVE"}

// String returns the event's name as it appears in linuxptp's state change
// lines ("ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES").
func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "EVENT_" + strconv.Itoa(int(e))
}

// transition is one arrow of a state diagram.
type transition struct {
	from  State
	event Event
	to    State
}

// Machine is a port state machine: which state an event moves a port to.
// The four machines are Standard (IEEE 1588-2019 Figure 30), SlaveOnly
// (Figure 31, clientOnly), and the fixed-role DesignatedMaster and
// DesignatedSlave used with BMCA "noop".
type Machine struct {
	name  string
	table map[State]map[Event]State
	// recalibrate sends a SLAVE port back to UNCALIBRATED when RS_SLAVE
	// names a new master; the designated machines have no UNCALIBRATED.
	recalibrate bool
}

func newMachine(name string, recalibrate bool, rows []transition) *Machine {
	m := &Machine{name: name, recalibrate: recalibrate, table: map[State]map[Event]State{}}
	for _, r := range rows {
		if m.table[r.from] == nil {
			m.table[r.from] = map[Event]State{}
		}
		m.table[r.from][r.event] = r.to
	}
	return m
}

// String names the machine.
func (m *Machine) String() string { return m.name }

// Next returns the state event leads to from state. masterChanged is the
// state decision's news that the best master is a different one, which
// sends a SLAVE port back through UNCALIBRATED on RS_SLAVE. Events with no
// arrow leave the state unchanged. INITIALIZE and POWERUP reset any state.
func (m *Machine) Next(state State, event Event, masterChanged bool) State {
	if event == EventInitialize || event == EventPowerup {
		return Initializing
	}
	if m.recalibrate && state == Slave && event == EventRSSlave {
		if masterChanged {
			return Uncalibrated
		}
		return Slave
	}
	if next, ok := m.table[state][event]; ok {
		return next
	}
	return state
}

// leaving returns the arrows every enabled state has in the standard
// machines: to DISABLED and to FAULTY.
func leaving(states ...State) []transition {
	var rows []transition
	for _, s := range states {
		rows = append(rows,
			transition{s, EventDesignatedDisabled, Disabled},
			transition{s, EventFaultDetected, Faulty})
	}
	return rows
}

var commonStart = []transition{
	{Initializing, EventFaultDetected, Faulty},
	{Initializing, EventInitComplete, Listening},
	{Faulty, EventDesignatedDisabled, Disabled},
	{Faulty, EventFaultCleared, Initializing},
	{Disabled, EventDesignatedEnabled, Initializing},
}

// Standard is the full state machine of IEEE 1588-2019 Figure 30, with
// linuxptp's GRAND_MASTER state beside MASTER.
var Standard = newMachine("ptp", true, concat(commonStart,
	leaving(Listening, PreMaster, Master, GrandMaster, Passive, Uncalibrated, Slave),
	[]transition{
		{Listening, EventAnnounceReceiptTimeoutExpires, Master},
		{Listening, EventRSMaster, PreMaster},
		{Listening, EventRSGrandMaster, GrandMaster},
		{Listening, EventRSSlave, Uncalibrated},
		{Listening, EventRSPassive, Passive},

		{PreMaster, EventQualificationTimeoutExpires, Master},
		{PreMaster, EventRSSlave, Uncalibrated},
		{PreMaster, EventRSPassive, Passive},

		{Master, EventRSSlave, Uncalibrated},
		{Master, EventRSPassive, Passive},
		{GrandMaster, EventRSSlave, Uncalibrated},
		{GrandMaster, EventRSPassive, Passive},

		{Passive, EventAnnounceReceiptTimeoutExpires, Master},
		{Passive, EventRSMaster, PreMaster},
		{Passive, EventRSGrandMaster, GrandMaster},
		{Passive, EventRSSlave, Uncalibrated},

		{Uncalibrated, EventAnnounceReceiptTimeoutExpires, Master},
		{Uncalibrated, EventMasterClockSelected, Slave},
		{Uncalibrated, EventRSMaster, PreMaster},
		{Uncalibrated, EventRSGrandMaster, GrandMaster},
		{Uncalibrated, EventRSSlave, Uncalibrated},
		{Uncalibrated, EventRSPassive, Passive},

		{Slave, EventAnnounceReceiptTimeoutExpires, Master},
		{Slave, EventSynchronizationFault, Uncalibrated},
		{Slave, EventRSMaster, PreMaster},
		{Slave, EventRSGrandMaster, GrandMaster},
		{Slave, EventRSPassive, Passive},
	}))

// SlaveOnly is the machine of a clientOnly (slaveOnly) clock, IEEE
// 1588-2019 Figure 31: every road that would lead to MASTER or PASSIVE
// leads back to LISTENING instead.
var SlaveOnly = newMachine("slave-only", true, concat(commonStart,
	leaving(Listening, Uncalibrated, Slave),
	[]transition{
		{Listening, EventAnnounceReceiptTimeoutExpires, Listening},
		{Listening, EventRSMaster, Listening},
		{Listening, EventRSGrandMaster, Listening},
		{Listening, EventRSPassive, Listening},
		{Listening, EventRSSlave, Uncalibrated},

		{Uncalibrated, EventAnnounceReceiptTimeoutExpires, Listening},
		{Uncalibrated, EventRSMaster, Listening},
		{Uncalibrated, EventRSGrandMaster, Listening},
		{Uncalibrated, EventRSPassive, Listening},
		{Uncalibrated, EventMasterClockSelected, Slave},

		{Slave, EventAnnounceReceiptTimeoutExpires, Listening},
		{Slave, EventRSMaster, Listening},
		{Slave, EventRSGrandMaster, Listening},
		{Slave, EventRSPassive, Listening},
		{Slave, EventSynchronizationFault, Uncalibrated},
	}))

// DesignatedMaster is the machine of a serverOnly port whose BMCA is
// "noop": straight to MASTER, leaving it only for FAULTY.
var DesignatedMaster = newMachine("designated-master", false, []transition{
	{Initializing, EventFaultDetected, Faulty},
	{Initializing, EventInitComplete, Master},
	{Faulty, EventFaultCleared, Initializing},
	{Master, EventFaultDetected, Faulty},
})

// DesignatedSlave is the machine of a clientOnly port whose BMCA is
// "noop": straight to SLAVE, leaving it only for FAULTY.
var DesignatedSlave = newMachine("designated-slave", false, []transition{
	{Initializing, EventFaultDetected, Faulty},
	{Initializing, EventInitComplete, Slave},
	{Faulty, EventFaultCleared, Initializing},
	{Slave, EventFaultDetected, Faulty},
})

func concat(parts ...[]transition) []transition {
	var out []transition
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// RecommendedEvent turns the state decision's recommended state into the
// event the state machine takes (RS_MASTER, RS_GRAND_MASTER, RS_SLAVE,
// RS_PASSIVE), or EventNone when there is nothing to do.
func RecommendedEvent(s State) Event {
	switch s {
	case Master:
		return EventRSMaster
	case GrandMaster:
		return EventRSGrandMaster
	case Slave:
		return EventRSSlave
	case Passive:
		return EventRSPassive
	}
	return EventNone
}
