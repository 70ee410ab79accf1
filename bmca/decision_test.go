package bmca

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/roko-network/roko-ptpd/ptp"
)

func TestDecide(t *testing.T) {
	local := Local(me, 128, ptp.ClockQuality{ClockClass: 248, ClockAccuracy: 0xfe, OffsetScaledLogVariance: 0xffff}, 128, 128)
	gmLocal := Local(me, 1, ptp.ClockQuality{ClockClass: 6, ClockAccuracy: 0x20, OffsetScaledLogVariance: 0x4e5d}, 1, 128)

	better := base() // priority1 128, identity 0x0a < me 0x50: better than local
	worse := base()
	worse.GrandmasterPriority1 = 200
	// The same grandmaster as better, heard on port 2 by a longer path
	// from a sender that sorts above us: worse by topology.
	other := base()
	other.StepsRemoved = 2
	other.Sender = pid(cid(0x40), 1)
	other.Receiver = pid(me, 2)

	for _, tc := range []struct {
		name string
		in   Input
		want Recommendation
	}{
		{"listening, nothing heard", Input{D0: local, ClockClass: 248, State: ptp.PortStateListening}, Keep},
		{"noop, nothing heard", Input{D0: local, ClockClass: 248, State: ptp.PortStateMaster, Noop: true}, Keep},
		{"master, nothing heard: stays grandmaster", Input{D0: local, ClockClass: 248, State: ptp.PortStateMaster}, M2},
		{"class 6, nothing heard", Input{D0: gmLocal, ClockClass: 6, State: ptp.PortStateMaster}, M1},
		{"class 6, hears a worse clock", Input{D0: gmLocal, ClockClass: 6, Erbest: &better, Ebest: &better, EbestOnThisPort: true}, M1},
		{"class 6 never slaves: passive", Input{D0: Local(cid(0xff), 1, ptp.ClockQuality{ClockClass: 6}, 1, 0), ClockClass: 6,
			Erbest: &Dataset{GrandmasterPriority1: 0, GrandmasterIdentity: gmA, Sender: pid(gmA, 1)}}, P1},
		{"local better than all", Input{D0: local, ClockClass: 248, Ebest: &worse, Erbest: &worse, EbestOnThisPort: true}, M2},
		{"best master on this port", Input{D0: local, ClockClass: 248, Ebest: &better, Erbest: &better, EbestOnThisPort: true}, S1},
		{"best master elsewhere, worse one here", Input{D0: local, ClockClass: 248, Ebest: &better, Erbest: &worse}, M3},
		{"best master elsewhere, none here", Input{D0: local, ClockClass: 248, Ebest: &better}, M3},
		{"same master by a worse path here", Input{D0: local, ClockClass: 248, Ebest: &better, Erbest: &other}, P2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.in, IEEE1588)
			assert.Equal(t, tc.want, got, "got %s", got)
		})
	}
	assert.Equal(t, ptp.PortStateMaster, M3.State())
	assert.Equal(t, ptp.PortStatePassive, P2.State())
	assert.Equal(t, ptp.PortStateSlave, S1.State())
	assert.Zero(t, Keep.State())
	assert.True(t, M1.GrandMaster())
	assert.False(t, M3.GrandMaster())
	assert.Equal(t, "P2", P2.String())
}

func TestBestOf(t *testing.T) {
	a, b := base(), base()
	b.GrandmasterIdentity = gmB
	b.GrandmasterPriority1 = 1
	assert.Same(t, &b, BestOf(&a, &b, IEEE1588))
	assert.Same(t, &b, BestOf(&b, &a, IEEE1588))
	assert.Same(t, &a, BestOf(&a, nil, IEEE1588))
	assert.Same(t, &a, BestOf(nil, &a, IEEE1588))
	assert.Nil(t, BestOf(nil, nil, IEEE1588))
}
