package ucload

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
)

const sec = int64(time.Second)

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name     string
		values   []int64
		p50, p99 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"exact below 1024 ns", []int64{10, 20, 30, 40, 1000}, 30, 1000},
		{"negative as 0", []int64{-5, -5, 7}, 0, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, v := range tt.values {
				h.Add(v)
			}
			assert.Equal(t, tt.p50, h.Quantile(0.5))
			assert.Equal(t, tt.p99, h.Quantile(0.99))
		})
	}
	var one Histogram
	one.Add(123_456)
	assert.InEpsilon(t, 123_456, float64(one.Quantile(0.5)), 0.002, "a bucket's lower bound")
	// 1..100,000 µs: quantiles within the buckets' 0.2 %.
	var h Histogram
	for v := int64(1); v <= 100_000; v++ {
		h.Add(v * 1000)
	}
	assert.InEpsilon(t, 50e6, float64(h.Quantile(0.5)), 0.002)
	assert.InEpsilon(t, 99e6, float64(h.Quantile(0.99)), 0.002)
	assert.Equal(t, 100*time.Millisecond, h.Max())
	assert.EqualValues(t, 100_000, h.Count())
}

func TestHistogramBucketsAreMonotonic(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<22; v += 7 {
		b := histBucket(v)
		require.GreaterOrEqual(t, b, prev, "v=%d", v)
		require.LessOrEqual(t, histLower(b), v, "v=%d", v)
		prev = b
	}
	assert.Less(t, histBucket(1<<62), histBuckets)
}

func TestAddresses(t *testing.T) {
	a, err := NewAddresses(DefaultPrefix, 10_000)
	require.NoError(t, err)
	assert.Equal(t, [4]byte{198, 18, 64, 1}, a.Addr(0))
	assert.Equal(t, [4]byte{198, 18, 103, 16}, a.Addr(9_999))
	for _, i := range []int{0, 255, 256, 9_999} {
		j, ok := a.Index(a.Addr(i))
		assert.True(t, ok)
		assert.Equal(t, i, j)
	}
	for _, ip := range [][4]byte{{198, 18, 64, 0}, {198, 18, 103, 17}, {198, 18, 0, 1}} {
		_, ok := a.Index(ip)
		assert.False(t, ok, "%v", ip)
	}
	for _, tt := range []struct {
		prefix string
		n      int
	}{{"198.18.64.0/30", 3}, {"fd00::/64", 1}, {"198.18.64.0/18", 0}} {
		_, err := NewAddresses(netip.MustParsePrefix(tt.prefix), tt.n)
		assert.Error(t, err, tt.prefix)
	}
	_, err = NewAddresses(netip.MustParsePrefix("198.18.64.0/30"), 2)
	assert.NoError(t, err)
}

// sent is a Sender that keeps what it is given.
type sent struct {
	general []sentMsg
	event   []sentMsg
}

type sentMsg struct {
	client int
	seq    uint16
	msg    []byte
}

func (s *sent) General(i int, msg []byte) {
	s.general = append(s.general, sentMsg{i, 0, append([]byte(nil), msg...)})
}

func (s *sent) Event(i int, seq uint16, msg []byte) {
	s.event = append(s.event, sentMsg{i, seq, append([]byte(nil), msg...)})
}

func grantFor(t *testing.T, duration uint32) []byte {
	var sg ptp.Signaling
	sg.VersionPTP, sg.Flags = 2, ptp.FlagUnicast
	for _, typ := range grantTypes {
		require.NoError(t, sg.TLVs.Add(&ptp.GrantUnicastTransmission{MessageType: typ, DurationField: duration}))
	}
	b, err := sg.MarshalBinary()
	require.NoError(t, err)
	return b
}

func delayRespTo(t *testing.T, req []byte) []byte {
	var d ptp.DelayReq
	require.NoError(t, d.UnmarshalBinary(req))
	r := ptp.DelayResp{RequestingPortIdentity: d.SourcePortIdentity}
	r.VersionPTP, r.SequenceID, r.Flags = 2, d.SequenceID, ptp.FlagUnicast
	b, err := r.MarshalBinary()
	require.NoError(t, err)
	return b
}

func syncOf(t *testing.T, seq uint16, fup bool) []byte {
	var b []byte
	var err error
	if fup {
		m := ptp.FollowUp{}
		m.VersionPTP, m.SequenceID = 2, seq
		b, err = m.MarshalBinary()
	} else {
		m := ptp.Sync{}
		m.VersionPTP, m.SequenceID, m.Flags = 2, seq, ptp.FlagTwoStep|ptp.FlagUnicast
		b, err = m.MarshalBinary()
	}
	require.NoError(t, err)
	return b
}

// The ramp asks each client once, spread over Ramp; each request names
// Announce, Sync and Delay_Resp at the configured rates; a client that
// was not granted asks again after retryAfter, and one granted renews
// when half its grant is left.
func TestLoadNegotiates(t *testing.T) {
	l, err := New(Config{Clients: 4, Domain: 7, LogSyncInterval: -4, LogAnnounceInterval: 1, Duration: 20 * time.Second, Ramp: time.Second})
	require.NoError(t, err)
	var s sent
	l.Start(sec)
	l.Step(sec, 0, &s)
	require.Len(t, s.general, 1, "client 0 at once")
	l.Step(sec+sec/2, 0, &s)
	require.Len(t, s.general, 3, "clients 1 and 2 by half the ramp")
	l.Step(2*sec-sec/10, 0, &s)
	require.Len(t, s.general, 4, "client 3 at 1.75 s, and client 0 not again before retryAfter")
	for i, m := range s.general {
		assert.Equal(t, i, m.client)
		var sg ptp.Signaling
		require.NoError(t, sg.UnmarshalBinary(m.msg))
		assert.Equal(t, uint8(7), sg.DomainNumber)
		assert.Equal(t, ClientIdentity(i), sg.SourcePortIdentity)
		var got []ptp.RequestUnicastTransmission
		for tlv := range sg.TLVs.All() {
			var r ptp.RequestUnicastTransmission
			require.NoError(t, r.UnmarshalValue(tlv.Value))
			got = append(got, r)
		}
		assert.Equal(t, []ptp.RequestUnicastTransmission{
			{MessageType: ptp.MessageAnnounce, LogInterMessagePeriod: 1, DurationField: 20},
			{MessageType: ptp.MessageSync, LogInterMessagePeriod: -4, DurationField: 20},
			{MessageType: ptp.MessageDelayResp, LogInterMessagePeriod: -4, DurationField: 20},
		}, got)
	}
	// Clients 0-2 granted at 2 s; client 3 never answered.
	for i := range 3 {
		l.Receive(i, grantFor(t, 20), 0, 2*sec)
	}
	assert.Equal(t, 3, l.Held(2*sec))
	assert.Equal(t, 0, l.Ready(2*sec), "no Sync yet")
	l.Receive(0, syncOf(t, 1, false), 0, 2*sec)
	assert.Equal(t, 1, l.Ready(2*sec))
	s = sent{}
	l.Step(3*sec+1, 0, &s)
	require.Len(t, s.general, 1, "client 3 asks again")
	assert.Equal(t, 3, s.general[0].client)
	s = sent{}
	for now := 3 * sec; now < 11*sec; now += sec / 100 {
		l.Step(now, 0, &s)
	}
	for _, m := range s.general {
		assert.Equal(t, 3, m.client, "the granted clients do not renew before half their grant")
	}
	s = sent{}
	l.Step(12*sec+sec/10, 0, &s)
	var renewed []int
	for _, m := range s.general {
		renewed = append(renewed, m.client)
	}
	assert.Subset(t, renewed, []int{0, 1, 2}, "renewed with 10 s of 20 left")
	assert.Equal(t, 0, l.Held(22*sec), "grants run out unrenewed")
}

// Delay_Req go at the rate, spread over the clients; answers are matched
// and timed; unanswered ones of the window are lost; Syncs short of the
// rate and Follow_Ups missing are counted.
func TestLoadDelayReq(t *testing.T) {
	l, err := New(Config{Clients: 4, LogSyncInterval: 0, LogAnnounceInterval: 1, Duration: 60 * time.Second, Ramp: 0})
	require.NoError(t, err)
	var s sent
	l.Start(0)
	l.Step(0, 0, &s)
	for i := range 3 { // client 3 is never granted
		l.Receive(i, grantFor(t, 60), 0, 0)
	}
	l.StartDelayReq(sec)
	l.SetMeasuring(true)
	s = sent{}
	for now := sec; now < 11*sec; now += sec / 8 {
		l.Step(now, now+100, &s)
	}
	require.Len(t, s.event, 30, "3 granted clients at 1 Hz for 10 s")
	assert.EqualValues(t, 10, l.Counts.NoGrant)
	for k, m := range s.event[:8] {
		assert.Equal(t, k%3, m.client)
		assert.Equal(t, uint16(k/3), m.seq)
	}
	// Answer all but client 2's; stamp client 0's 50 µs before they
	// were handed over.
	for _, m := range s.event {
		if m.client == 0 {
			var d ptp.DelayReq
			require.NoError(t, d.UnmarshalBinary(m.msg))
			l.DelayReqStamped(0, m.seq, 0) // rx below is relative to this
		}
	}
	for _, m := range s.event {
		switch m.client {
		case 0:
			l.Receive(0, delayRespTo(t, m.msg), 80_000, 12*sec)
		case 1:
			l.Receive(1, delayRespTo(t, m.msg), 1_000_000_000_000, 12*sec)
		}
	}
	// A Delay_Resp for client 1 carried to client 0 matches nothing.
	l.Receive(0, delayRespTo(t, s.event[1].msg), 0, 12*sec)
	assert.EqualValues(t, 1, l.Counts.Unmatched)
	// Syncs: client 0 gets 10 with Follow_Ups (one before its Sync),
	// client 1 gets 9, its Follow_Ups all missing.
	for seq := uint16(0); seq < 10; seq++ {
		if seq == 3 {
			l.Receive(0, syncOf(t, seq, true), 0, 12*sec)
			l.Receive(0, syncOf(t, seq, false), 0, 12*sec)
		} else {
			l.Receive(0, syncOf(t, seq, false), 0, 12*sec)
			l.Receive(0, syncOf(t, seq, true), 0, 12*sec)
		}
		if seq < 9 {
			l.Receive(1, syncOf(t, seq, false), 0, 12*sec)
		}
	}
	l.SetMeasuring(false)
	l.Finish(10 * time.Second)
	c := l.Counts
	assert.EqualValues(t, 30, c.DelayReq)
	assert.EqualValues(t, 20, c.Answered)
	assert.EqualValues(t, 10, c.Lost)
	assert.EqualValues(t, 21, c.Answers)
	assert.EqualValues(t, 20, l.Latency.Count())
	assert.Equal(t, 80*time.Microsecond, l.Latency.Quantile(0.5).Round(time.Microsecond))
	assert.EqualValues(t, 19, c.Sync)
	assert.EqualValues(t, 1+10+10, c.SyncLost, "client 1 one short, clients 2 and 3 none of 10")
	assert.EqualValues(t, 8, c.FupLost, "client 1's, found at its next Sync")
	assert.Zero(t, c.Malformed)
}

// A load that falls more than a period behind skips Delay_Req instead of
// sending a burst.
func TestLoadSkipsWhenBehind(t *testing.T) {
	l, err := New(Config{Clients: 2, LogSyncInterval: 0, Duration: 60 * time.Second})
	require.NoError(t, err)
	var s sent
	l.Start(0)
	l.Step(0, 0, &s)
	l.Receive(0, grantFor(t, 60), 0, 0)
	l.Receive(1, grantFor(t, 60), 0, 0)
	l.StartDelayReq(0)
	l.SetMeasuring(true)
	s = sent{}
	l.Step(5*sec+sec/4, 0, &s)
	assert.Len(t, s.event, 2, "only those less than a period late: due at 4.5 and 5 s")
	assert.EqualValues(t, 9, l.Counts.Skipped)
	assert.Equal(t, 3*time.Second/4, l.Counts.MaxLag)
	assert.LessOrEqual(t, l.NextDue(5*sec+sec/4), 5*sec+sec/2, "the next Delay_Req at 5.5 s")
}

func TestNewRefusesBadConfigs(t *testing.T) {
	good := Config{Clients: 1, Duration: 10 * time.Second}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Clients = 0 },
		func(c *Config) { c.LogSyncInterval = -8 },
		func(c *Config) { c.LogAnnounceInterval = 5 },
		func(c *Config) { c.Duration = time.Second },
	} {
		c := good
		bad(&c)
		_, err := New(c)
		assert.Error(t, err)
	}
	_, err := New(good)
	assert.NoError(t, err)
}

func TestParseProc(t *testing.T) {
	v, err := parseSchedstat([]byte("123456789 5000 42\n"))
	require.NoError(t, err)
	assert.EqualValues(t, 123456789, v)
	_, err = parseSchedstat([]byte(""))
	assert.Error(t, err)
}
