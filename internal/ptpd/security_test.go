package ptpd

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/ptplog"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
)

// authLines returns the log's lines about failed authentication.
func authLines(out *testenv.Buffer) []string {
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "auth:") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestAuthFailureLog: the first failure of each reason is logged in
// ptp4l's words, later ones are summed up at most once a second.
func TestAuthFailureLog(t *testing.T) {
	out := &testenv.Buffer{}
	lg := ptplog.New("roko-ptpd", 6, "", out, out)
	l := authFailureLog{who: "port 1 (eth0)"}
	const s = int64(time.Second)
	for i := range 1000 {
		l.failed(lg, auth.FailMissing, s+int64(i)*int64(500*time.Microsecond))
	}
	l.failed(lg, auth.FailICV, s+6*s/10)
	l.failed(lg, auth.FailMissing, s+11*s/10)
	l.failed(lg, auth.FailICV, s+12*s/10)
	l.failed(lg, auth.FailReplay, s+13*s/10)
	l.failed(lg, auth.FailMissing, s+23*s/10)
	lines := authLines(out)
	require.Len(t, lines, 5, "%s", out)
	for i, want := range []string{
		"port 1 (eth0): auth: bad message: no_auth_tlv",
		"port 1 (eth0): auth: bad message: bad_icv",
		"port 1 (eth0): auth: 1000 more bad messages in 1.1 s: no_auth_tlv 1000",
		"port 1 (eth0): auth: bad message: replay",
		"port 1 (eth0): auth: 2 more bad messages in 1.2 s: no_auth_tlv 1, bad_icv 1",
	} {
		assert.True(t, strings.HasSuffix(lines[i], want), "line %d: %q, want %q", i, lines[i], want)
	}
}

// TestAuthFailureFlood: a port flooded with unauthenticated messages
// logs a line a second, not one a message, and still counts each.
func TestAuthFailureFlood(t *testing.T) {
	out := &testenv.Buffer{}
	sa := &auth.SecurityAssociation{SPP: 1, SeqIDWindow: auth.DefaultSeqIDWindow}
	d := &Daemon{log: ptplog.New("roko-ptpd", 6, "", out, out), ports: []port{{name: "eth0", verify: auth.NewVerifier(sa), authLog: authFailureLog{who: "port 1 (eth0)"}}}}
	sync := &ptp.Sync{Header: ptp.Header{VersionPTP: 2, DomainNumber: 0, SequenceID: 1}}
	msg, err := sync.AppendBinary(nil)
	require.NoError(t, err)
	const n = 10000
	start := time.Now()
	for range n {
		_, ok := d.verifyReceived(0, msg)
		require.False(t, ok)
	}
	elapsed := time.Since(start)
	assert.Equal(t, uint64(n), d.AuthFailures(0, auth.FailMissing))
	lines := authLines(out)
	require.NotEmpty(t, lines)
	assert.Contains(t, lines[0], "port 1 (eth0): auth: bad message: no_auth_tlv")
	assert.LessOrEqual(t, len(lines), 1+int(elapsed/time.Second), "%d messages in %v", n, elapsed)
	// A refused message costs no allocation: only the rare log line does.
	assert.Zero(t, testing.AllocsPerRun(1000, func() { d.verifyReceived(0, msg) }))
}
