package transport

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// softwareOnly is a control buffer as the kernel writes it for one
// software timestamp (ts[0]), with ts[2] empty.
func softwareOnly(sec, nsec int64) []byte {
	return cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMPING, scmTimestamping([2]int64{sec, nsec}, [2]int64{}))
}

// TestNICStamps: the emulated card turns the kernel's software timestamp
// into its PHC's, which parseControl then reads as the raw hardware one,
// exactly as from a real card; a lost transmit timestamp leaves nothing.
func TestNICStamps(t *testing.T) {
	const ahead = int64(37e9 + 123)
	n := &NIC{Clock: func(rt int64) int64 { return rt + ahead }}
	b := softwareOnly(1_790_000_000, 5)
	n.rewriteControl(b, false)
	var ci controlInfo
	require.NoError(t, parseControl(b, true, &ci))
	require.True(t, ci.hasTS)
	assert.Equal(t, int64(1_790_000_000e9+5)+ahead, ci.ts, "the PHC's time of the instant")
	require.NoError(t, parseControl(b, false, &ci))
	assert.Equal(t, int64(1_790_000_000e9+5), ci.ts, "the software timestamp is still there")

	lossy := &NIC{Clock: n.Clock, TxLoss: 1}
	b = softwareOnly(1_790_000_000, 5)
	lossy.rewriteControl(b, true)
	require.NoError(t, parseControl(b, true, &ci))
	assert.False(t, ci.hasTS, "a lost transmit timestamp")
	assert.Equal(t, uint64(1), lossy.LostTxTimestamps())
	b = softwareOnly(1_790_000_000, 5)
	lossy.rewriteControl(b, false)
	require.NoError(t, parseControl(b, true, &ci))
	assert.True(t, ci.hasTS, "receive timestamps are never lost")

	noisy := &NIC{Clock: func(rt int64) int64 { return rt }, Noise: 20, Seed: 7}
	var sum2 float64
	for i := range 1000 {
		b = softwareOnly(1_790_000_000, int64(i))
		noisy.rewriteControl(b, false)
		require.NoError(t, parseControl(b, true, &ci))
		d := float64(ci.ts - (1_790_000_000e9 + int64(i)))
		sum2 += d * d
	}
	assert.InDelta(t, 400, sum2/1000, 80, "noise of 20 ns RMS")

	bad := softwareOnly(1, 1)
	binary.NativeEndian.PutUint64(bad[0:], 999)
	n.rewriteControl(bad, false)
	assert.Error(t, parseControl(bad, true, &ci), "a buffer the kernel would not write is left for parseControl to refuse")
}

// TestNICAnswers: the emulated card's ETHTOOL_GET_TS_INFO passes the
// transport's own checks for hardware and one-step timestamping, and
// SIOCSHWTSTAMP keeps the narrowest filter, as on a real card.
func TestNICAnswers(t *testing.T) {
	for _, tc := range []struct {
		mode   Timestamping
		l2     bool
		tx     int32
		filter int32
	}{
		{Hardware, false, unix.HWTSTAMP_TX_ON, unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT},
		{Hardware, true, unix.HWTSTAMP_TX_ON, unix.HWTSTAMP_FILTER_PTP_V2_L2_EVENT},
		{OneStep, false, unix.HWTSTAMP_TX_ONESTEP_SYNC, unix.HWTSTAMP_FILTER_PTP_V2_L4_EVENT},
	} {
		n := &NIC{PHCIndex: 3}
		require.NoError(t, checkTimestamping("veth0", tc.mode, tc.l2, n))
		got, set := n.HwTstamp()
		require.True(t, set)
		assert.Equal(t, tc.tx, got.Tx_type)
		assert.Equal(t, tc.filter, got.Rx_filter)
		assert.Equal(t, int32(3), n.tsInfo().Phc_index)
	}
}

// TestNICOneStep: a one-step Sync leaves with the card's time in its
// originTimestamp; a two-step Sync and other messages leave untouched.
func TestNICOneStep(t *testing.T) {
	n := &NIC{Clock: func(rt int64) int64 { return 5e9 + 7 }}
	sync := make([]byte, 44)
	assert.True(t, n.oneStepSync(sync))
	assert.Equal(t, uint32(5), binary.BigEndian.Uint32(sync[36:]))
	assert.Equal(t, uint32(7), binary.BigEndian.Uint32(sync[40:]))
	twoStep := make([]byte, 44)
	twoStep[6] = 0x02
	assert.False(t, n.oneStepSync(twoStep))
	delayReq := make([]byte, 44)
	delayReq[0] = 1
	assert.False(t, n.oneStepSync(delayReq))
	assert.False(t, n.oneStepSync(make([]byte, 20)))
}
