package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roko-network/roko-ptpd/ptp"
)

func TestDataSetsFollowTheGrandmaster(t *testing.T) {
	_, _, gm, cl := lockedPair(t)

	d := cl.Clock.DefaultDS()
	assert.True(t, d.SlaveOnly())
	assert.True(t, d.TwoStep())
	assert.EqualValues(t, 255, d.ClockQuality.ClockClass, "a slave-only clock reports class 255")
	assert.EqualValues(t, 24, d.DomainNumber)
	assert.EqualValues(t, 1, d.NumberPorts)

	p := cl.Clock.ParentDS()
	assert.Equal(t, gm.Clock.Port(0).Identity(), p.ParentPortIdentity)
	assert.Equal(t, gm.Clock.Config().ClockIdentity, p.GrandmasterIdentity)
	assert.EqualValues(t, 1, p.GrandmasterPriority1)
	assert.EqualValues(t, 6, p.GrandmasterClockQuality.ClockClass)

	cur := cl.Clock.CurrentDS()
	assert.EqualValues(t, 1, cur.StepsRemoved)
	assert.InDelta(t, 4000, cur.MeanPathDelay.Nanoseconds(), 2)
	assert.Less(t, abs(cur.OffsetFromMaster.Nanoseconds()), 100.0)

	tp := cl.Clock.TimePropertiesDS()
	assert.EqualValues(t, 37, tp.CurrentUTCOffset)
	assert.Equal(t, ptp.TimeSourceInternalOscillator, tp.TimeSource)

	port := cl.Clock.PortDS(0)
	assert.Equal(t, ptp.PortStateSlave, port.PortState)
	assert.EqualValues(t, -4, port.LogSyncInterval)
	assert.EqualValues(t, 0x12, port.VersionNumber)

	ts := cl.Clock.TimeStatus()
	assert.EqualValues(t, 1, ts.GmPresent)
	assert.Equal(t, gm.Clock.Config().ClockIdentity, ts.GmIdentity)
	gts := gm.Clock.TimeStatus()
	assert.Zero(t, gts.GmPresent)

	g := gm.Clock.ParentDS()
	assert.Equal(t, gm.Clock.Config().ClockIdentity, g.GrandmasterIdentity, "a grandmaster is its own parent")
	assert.Equal(t, ptp.PortStateMaster, gm.Clock.PortDS(0).PortState)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
