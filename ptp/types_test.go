package ptp_test

import (
	"math"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

func TestClockIdentity(t *testing.T) {
	mac, _ := net.ParseMAC("32:80:31:54:c4:4b")
	c, ok := ptp.ClockIdentityFromMAC(mac)
	require.True(t, ok)
	assert.Equal(t, "328031.fffe.54c44b", c.String())
	for _, s := range []string{"328031.fffe.54c44b", "32:80:31:ff:fe:54:c4:4b", "328031fffe54c44b", "32-80-31-FF-FE-54-C4-4B"} {
		got, err := ptp.ParseClockIdentity(s)
		require.NoError(t, err, s)
		assert.Equal(t, c, got, s)
	}
	for _, s := range []string{"", "328031.fffe.54c4", "zz8031.fffe.54c44b"} {
		_, err := ptp.ParseClockIdentity(s)
		assert.Error(t, err, s)
	}
	_, ok = ptp.ClockIdentityFromMAC(net.HardwareAddr{1, 2, 3})
	assert.False(t, ok)
}

func TestPortIdentity(t *testing.T) {
	p, err := ptp.ParsePortIdentity("328031.fffe.54c44b-1")
	require.NoError(t, err)
	assert.EqualValues(t, 1, p.PortNumber)
	assert.Equal(t, "328031.fffe.54c44b-1", p.String())
	assert.Equal(t, "ffffff.ffff.ffffff-65535", ptp.WildcardPortIdentity.String())
	for _, s := range []string{"328031.fffe.54c44b", "328031.fffe.54c44b-x", "328031.fffe.54c44b-70000"} {
		_, err := ptp.ParsePortIdentity(s)
		assert.Error(t, err, s)
	}
	other := ptp.PortIdentity{ClockIdentity: p.ClockIdentity, PortNumber: 2}
	assert.True(t, ptp.WildcardPortIdentity.Matches(p))
	assert.True(t, p.Matches(p))
	assert.False(t, p.Matches(other))
	assert.True(t, ptp.PortIdentity{ClockIdentity: p.ClockIdentity, PortNumber: ptp.AllPorts}.Matches(other))
	assert.False(t, ptp.PortIdentity{PortNumber: ptp.AllPorts}.Matches(other))
}

func TestTimestamp(t *testing.T) {
	tm := time.Unix(1795542400, 510100420)
	ts := ptp.TimestampFromTime(tm)
	assert.Equal(t, ptp.Timestamp{Seconds: 1795542400, Nanoseconds: 510100420}, ts)
	assert.True(t, ts.Time().Equal(tm))
	assert.EqualValues(t, 1795542400510100420, ts.UnixNano())
	assert.Equal(t, ts, ptp.TimestampFromNanoseconds(ts.UnixNano()))
	assert.True(t, ts.Valid())
	assert.False(t, ts.IsZero())
	assert.Equal(t, ptp.Timestamp{}, ptp.TimestampFromTime(time.Unix(-5, 0)))
	assert.Equal(t, ptp.Timestamp{}, ptp.TimestampFromNanoseconds(-1))
	assert.False(t, ptp.Timestamp{Nanoseconds: 1e9}.Valid())
	assert.Equal(t, int64(math.MaxInt64), ptp.Timestamp{Seconds: ptp.MaxTimestampSeconds}.UnixNano())

	// All 48 bits of seconds survive the wire.
	var s ptp.Sync
	require.NoError(t, s.UnmarshalBinary(fixture("Sync")))
	s.OriginTimestamp = ptp.Timestamp{Seconds: ptp.MaxTimestampSeconds, Nanoseconds: 999999999}
	b, err := s.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3b, 0x9a, 0xc9, 0xff}, b[34:44])
	var back ptp.Sync
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, s.OriginTimestamp, back.OriginTimestamp)
}

func TestTimeInterval(t *testing.T) {
	for _, tc := range []struct {
		ti  ptp.TimeInterval
		ns  float64
		dur time.Duration
	}{
		{0, 0, 0},
		{1 << 16, 1, time.Nanosecond},
		{-(1 << 16), -1, -time.Nanosecond},
		{105045<<16 | 0x8000, 105045.5, 105045},
		{-(105045<<16 | 0x8000), -105045.5, -105045},
	} {
		assert.Equal(t, tc.ns, tc.ti.Nanoseconds())
		assert.Equal(t, tc.dur, tc.ti.Duration())
	}
	assert.Equal(t, ptp.TimeInterval(612<<16), ptp.TimeIntervalFromNanoseconds(612))
	assert.Equal(t, ptp.TimeInterval(-612<<16), ptp.TimeIntervalFromDuration(-612))
	assert.Equal(t, ptp.TimeIntervalTooBig, ptp.TimeIntervalFromNanoseconds(math.MaxInt64))
	assert.Equal(t, ptp.TimeInterval(math.MinInt64), ptp.TimeIntervalFromNanoseconds(math.MinInt64))
}

func TestFlagsAndNames(t *testing.T) {
	f := ptp.FlagTwoStep | ptp.FlagUnicast | ptp.FlagPTPTimescale | ptp.FlagCurrentUTCOffsetValid
	assert.Equal(t, ptp.Flags(0x060c), f)
	assert.True(t, f.Has(ptp.FlagTwoStep|ptp.FlagPTPTimescale))
	assert.False(t, f.Has(ptp.FlagLeap61))
	assert.Equal(t, "TWO_STEP|UNICAST|UTC_OFF_VALID|PTP_TIMESCALE", f.String())
	assert.Equal(t, "0", ptp.Flags(0).String())
	assert.Equal(t, "LEAP_61|0x1080", (ptp.FlagLeap61 | 0x1080).String())

	assert.Equal(t, "PDELAY_RESP_FOLLOW_UP", ptp.MessagePdelayRespFollowUp.String())
	assert.Equal(t, "MESSAGE_TYPE_0x5", ptp.MessageType(5).String())
	assert.True(t, ptp.MessagePdelayResp.IsEvent())
	assert.False(t, ptp.MessageFollowUp.IsEvent())
	assert.Equal(t, "0xa0", ptp.TimeSourceInternalOscillator.String())
	assert.Equal(t, "0xfe", ptp.AccuracyUnknown.String())
	assert.Equal(t, "SLAVE", ptp.PortStateSlave.String())
	assert.Equal(t, "PORT_STATE_42", ptp.PortState(42).String())
	assert.Equal(t, "RESPONSE", ptp.ActionResponse.String())
	assert.EqualValues(t, 4, ptp.ControlFieldFor(ptp.MessageManagement))
	assert.EqualValues(t, 5, ptp.ControlFieldFor(ptp.MessageAnnounce))
}

// Decoded field values of single messages, checked against their octets by
// hand (Table 35 and 43 offsets), independently of the round trip.
func TestDecodedFields(t *testing.T) {
	var a ptp.Announce
	require.NoError(t, a.UnmarshalBinary(fixture("Announce")))
	assert.Equal(t, ptp.MessageAnnounce, a.MessageType)
	assert.EqualValues(t, 2, a.VersionPTP)
	assert.EqualValues(t, 64, a.MessageLength)
	assert.EqualValues(t, 24, a.DomainNumber)
	assert.EqualValues(t, 5, a.ControlField)
	assert.EqualValues(t, 0, a.LogMessageInterval)
	assert.EqualValues(t, 37, a.CurrentUTCOffset)
	assert.EqualValues(t, 1, a.GrandmasterPriority1)
	assert.Equal(t, ptp.ClockQuality{ClockClass: 6, ClockAccuracy: 0x20, OffsetScaledLogVariance: 0x4e5d}, a.GrandmasterClockQuality)
	assert.EqualValues(t, 1, a.GrandmasterPriority2)
	assert.Equal(t, "328031.fffe.54c44b", a.GrandmasterIdentity.String())
	assert.EqualValues(t, 0, a.StepsRemoved)
	assert.Equal(t, ptp.TimeSourceGNSS, a.TimeSource)

	var s ptp.Sync
	require.NoError(t, s.UnmarshalBinary(fixture("Sync")))
	assert.True(t, s.Flags.Has(ptp.FlagTwoStep))
	assert.EqualValues(t, -4, s.LogMessageInterval)

	var r ptp.DelayResp
	require.NoError(t, r.UnmarshalBinary(fixture("DelayResp")))
	assert.Equal(t, ptp.Timestamp{Seconds: 0x6b05b6d9, Nanoseconds: 0x1437dd71}, r.ReceiveTimestamp)
	assert.Equal(t, "668004.fffe.7d3b88-1", r.RequestingPortIdentity.String())

	var h ptp.Header
	require.NoError(t, h.UnmarshalBinary(fixture("FollowUp")))
	assert.Equal(t, ptp.MessageFollowUp, h.MessageType)
	mt, err := ptp.PeekMessageType(fixture("FollowUp"))
	require.NoError(t, err)
	assert.Equal(t, ptp.MessageFollowUp, mt)
}
