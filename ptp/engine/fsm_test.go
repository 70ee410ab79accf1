package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

var allStates = []State{Initializing, Faulty, Disabled, Listening, PreMaster, Master, Passive, Uncalibrated, Slave, GrandMaster}

func allEvents() []Event {
	var es []Event
	for e := EventNone; e <= EventRSPassive; e++ {
		es = append(es, e)
	}
	return es
}

func TestStandardMachine(t *testing.T) {
	for _, tc := range []struct {
		from  State
		event Event
		mdiff bool
		to    State
	}{
		{Initializing, EventInitComplete, false, Listening},
		{Initializing, EventFaultDetected, false, Faulty},
		{Faulty, EventFaultCleared, false, Initializing},
		{Disabled, EventDesignatedEnabled, false, Initializing},
		{Listening, EventAnnounceReceiptTimeoutExpires, false, Master},
		{Listening, EventRSMaster, false, PreMaster},
		{Listening, EventRSGrandMaster, false, GrandMaster},
		{Listening, EventRSSlave, false, Uncalibrated},
		{Listening, EventRSPassive, false, Passive},
		{PreMaster, EventQualificationTimeoutExpires, false, Master},
		{PreMaster, EventRSMaster, false, PreMaster},
		{Master, EventRSMaster, false, Master},
		{Master, EventRSSlave, false, Uncalibrated},
		{GrandMaster, EventRSGrandMaster, false, GrandMaster},
		{GrandMaster, EventRSPassive, false, Passive},
		{Passive, EventRSMaster, false, PreMaster},
		{Passive, EventAnnounceReceiptTimeoutExpires, false, Master},
		{Uncalibrated, EventMasterClockSelected, false, Slave},
		{Uncalibrated, EventRSSlave, false, Uncalibrated},
		{Slave, EventSynchronizationFault, false, Uncalibrated},
		{Slave, EventRSSlave, false, Slave},
		{Slave, EventRSSlave, true, Uncalibrated}, // a new master: recalibrate
		{Slave, EventAnnounceReceiptTimeoutExpires, false, Master},
		{Slave, EventMasterClockSelected, false, Slave},
		{Master, EventMasterClockSelected, false, Master},
	} {
		got := Standard.Next(tc.from, tc.event, tc.mdiff)
		assert.Equal(t, tc.to, got, "%s on %s (mdiff %v)", tc.from, tc.event, tc.mdiff)
	}
	// Every enabled state can be disabled or fail, and INITIALIZE resets all.
	for _, s := range allStates {
		assert.Equal(t, Initializing, Standard.Next(s, EventInitialize, false), "%s", s)
		assert.Equal(t, Initializing, Standard.Next(s, EventPowerup, false), "%s", s)
		if s != Initializing && s != Faulty && s != Disabled {
			assert.Equal(t, Faulty, Standard.Next(s, EventFaultDetected, false), "%s", s)
			assert.Equal(t, Disabled, Standard.Next(s, EventDesignatedDisabled, false), "%s", s)
		}
	}
	// A disabled port ignores everything but being enabled.
	for _, e := range allEvents() {
		if e != EventDesignatedEnabled && e != EventInitialize && e != EventPowerup {
			assert.Equal(t, Disabled, Standard.Next(Disabled, e, true), "%s", e)
		}
	}
}

// A slave-only clock can never become a master or passive, whatever
// arrives (IEEE 1588-2019 9.2.2.2).
func TestSlaveOnlyNeverMasters(t *testing.T) {
	for _, s := range []State{Initializing, Faulty, Disabled, Listening, Uncalibrated, Slave} {
		for _, e := range allEvents() {
			for _, mdiff := range []bool{false, true} {
				next := SlaveOnly.Next(s, e, mdiff)
				assert.NotContains(t, []State{Master, PreMaster, Passive, GrandMaster}, next, "%s on %s", s, e)
			}
		}
	}
	assert.Equal(t, Listening, SlaveOnly.Next(Slave, EventAnnounceReceiptTimeoutExpires, false))
	assert.Equal(t, Listening, SlaveOnly.Next(Listening, EventRSMaster, false))
	assert.Equal(t, Uncalibrated, SlaveOnly.Next(Listening, EventRSSlave, false))
	assert.Equal(t, Slave, SlaveOnly.Next(Uncalibrated, EventMasterClockSelected, false))
	assert.Equal(t, Uncalibrated, SlaveOnly.Next(Slave, EventRSSlave, true))
}

func TestDesignatedMachines(t *testing.T) {
	assert.Equal(t, Master, DesignatedMaster.Next(Initializing, EventInitComplete, false))
	assert.Equal(t, Slave, DesignatedSlave.Next(Initializing, EventInitComplete, false))
	for _, e := range allEvents() {
		if e == EventFaultDetected || e == EventInitialize || e == EventPowerup {
			continue
		}
		assert.Equal(t, Master, DesignatedMaster.Next(Master, e, true), "%s", e)
		assert.Equal(t, Slave, DesignatedSlave.Next(Slave, e, true), "%s", e)
	}
	assert.Equal(t, Faulty, DesignatedSlave.Next(Slave, EventFaultDetected, false))
	assert.Equal(t, Initializing, DesignatedSlave.Next(Faulty, EventFaultCleared, false))
}

func TestNames(t *testing.T) {
	assert.Equal(t, "ANNOUNCE_RECEIPT_TIMEOUT_EXPIRES", EventAnnounceReceiptTimeoutExpires.String())
	assert.Equal(t, "RS_SLAVE", EventRSSlave.String())
	assert.Equal(t, "GRAND_MASTER", GrandMaster.String())
	assert.Equal(t, "UNCALIBRATED", Uncalibrated.String())
	assert.EqualValues(t, 6, GrandMaster.Wire())
	assert.True(t, GrandMaster.IsMaster())
	assert.True(t, Uncalibrated.IsSlave())
	assert.False(t, Passive.IsSlave())
	assert.Equal(t, EventRSGrandMaster, RecommendedEvent(GrandMaster))
	assert.Equal(t, EventNone, RecommendedEvent(Listening))
	assert.Equal(t, "ptp", Standard.String())
}
