package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roko-network/roko-ptpd/ptp"
)

// A grandmaster's time source changes what it announces: the client's
// parentDS and timePropertiesDS follow within an Announce interval, and
// the grandmaster's own GRANDMASTER_SETTINGS_NP shows the live quality.
func TestSetGrandmasterSettingsReachesClients(t *testing.T) {
	n, _, gm, cl := lockedPair(t)
	for _, gs := range []ptp.GrandmasterSettingsNP{
		{ClockQuality: ptp.ClockQuality{ClockClass: 7, ClockAccuracy: ptp.AccuracyWithin1us, OffsetScaledLogVariance: 0x4e5d},
			UTCOffset: 37, TimeFlags: uint8(ptp.FlagTimeTraceable | ptp.FlagPTPTimescale | ptp.FlagCurrentUTCOffsetValid), TimeSource: ptp.TimeSourceGNSS},
		{ClockQuality: ptp.ClockQuality{ClockClass: 248, ClockAccuracy: ptp.AccuracyUnknown, OffsetScaledLogVariance: 0xffff},
			UTCOffset: 37, TimeFlags: uint8(ptp.FlagPTPTimescale), TimeSource: ptp.TimeSourceInternalOscillator},
	} {
		n.Apply(gm, gm.Clock.SetGrandmasterSettings(gs, n.Now()))
		assert.Equal(t, gs.ClockQuality, gm.Clock.DefaultDS().ClockQuality)
		assert.Equal(t, gs.ClockQuality, gm.Clock.ParentDS().GrandmasterClockQuality)
		n.Run(n.Now()+3*sec, sec, nil)
		p := cl.Clock.ParentDS()
		assert.Equal(t, gs.ClockQuality, p.GrandmasterClockQuality)
		tp := cl.Clock.TimePropertiesDS()
		assert.Equal(t, gs.TimeSource, tp.TimeSource)
		assert.Equal(t, gs.TimeFlags, tp.Flags)
		assert.True(t, following(cl, gm))
	}
}
