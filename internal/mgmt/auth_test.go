package mgmt

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/transport"
)

// testSAs returns spp 1 with keys 1 and 2, and an spp 1 with the same
// key IDs and other secrets.
func testSAs(t *testing.T) (right, wrong *auth.SecurityAssociation) {
	t.Helper()
	parse := func(secret string) *auth.SecurityAssociation {
		db, err := auth.ParseSAFile(strings.NewReader("[security_association]\nspp 1\n1 SHA256-128 ASCII:"+secret+
			"\n2 AES128 ASCII:0123456789abcdef\n"), "sa.cfg")
		require.NoError(t, err)
		return db.Lookup(1)
	}
	return parse("the-management-key"), parse("not-the-right-key!")
}

// signedDaemon answers GET PRIORITY1 on a UNIX socket as a daemon with
// [global] spp 1 does, except that its answers are signed under the
// association signWith names ("right", "wrong"; "": not signed). It drops
// requests that fail authentication and counts them in refused. It has
// its own copies of the associations: a Key is not safe for concurrent
// use.
func signedDaemon(t *testing.T, signWith string, refused *atomic.Int32) string {
	t.Helper()
	right, wrong := testSAs(t)
	sign := map[string]*auth.SecurityAssociation{"right": right, "wrong": wrong}[signWith]
	path := filepath.Join(t.TempDir(), "ptp4l")
	s, err := transport.ListenUDS(path, 0o600)
	require.NoError(t, err)
	v := auth.NewVerifier(right)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 1500)
		for {
			n, from, err := s.Receive(b)
			if err != nil {
				return
			}
			if _, ok := v.Verify(b[:n]); !ok {
				refused.Add(1)
				continue
			}
			req := new(ptp.Management)
			if req.UnmarshalBinary(auth.Strip(b[:n])) != nil {
				continue
			}
			out := answer(t, req, req.SequenceID, 1, &ptp.Datum{ID: ptp.MIDPriority1, Value: 7})
			if sign != nil {
				out, _ = auth.Append(out, sign, sign.Key(1))
			}
			_ = s.Reply(out, from)
		}
	}()
	t.Cleanup(func() { s.Close(); <-done })
	return path
}

// TestAuthentication: with an SA the client signs its requests (a daemon
// that authenticates them answers) and checks the answers: allow_unauth
// 0 takes only those that pass, 1 also unsigned ones, 2 anything; each
// failure is counted by its reason. A client without the SA is not
// answered.
func TestAuthentication(t *testing.T) {
	right, wrong := testSAs(t)
	for _, tc := range []struct {
		name    string
		sign    string
		allow   auth.AllowUnauth
		answers bool
		failure auth.Failure
	}{
		{"signed answer", "right", auth.AuthenticateAll, true, auth.OK},
		{"unsigned answer refused", "", auth.AuthenticateAll, false, auth.FailMissing},
		{"unsigned answer, allow_unauth 1", "", auth.AcceptUnauthResponses, true, auth.OK},
		{"wrong key refused, allow_unauth 1", "wrong", auth.AcceptUnauthResponses, false, auth.FailICV},
		{"wrong key, allow_unauth 2", "wrong", auth.AcceptFailedResponses, true, auth.FailICV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var refused atomic.Int32
			path := signedDaemon(t, tc.sign, &refused)
			c, err := Open(Config{Server: path, Local: filepath.Join(t.TempDir(), "pmc"), SA: right, Key: right.Key(2),
				AllowUnauth: tc.allow, Timeout: 200e6})
			require.NoError(t, err)
			defer c.Close()
			rs, err := c.Get(ptp.MIDPriority1)
			if tc.answers {
				require.NoError(t, err)
				d := ptp.Datum{ID: ptp.MIDPriority1}
				require.NoError(t, rs[0].Data(&d))
				assert.Equal(t, uint8(7), d.Value)
			} else {
				assert.ErrorIs(t, err, ErrNoAnswer)
			}
			for f := auth.FailMalformed; f < auth.NumFailures; f++ {
				want := uint64(0)
				if f == tc.failure {
					want = 1
				}
				assert.Equal(t, want, c.AuthFailures(f), "%v", f)
			}
			assert.Zero(t, refused.Load(), "the daemon refused a signed request")
		})
	}

	t.Run("no SA, not answered", func(t *testing.T) {
		var refused atomic.Int32
		path := signedDaemon(t, "right", &refused)
		c, err := Open(Config{Server: path, Local: filepath.Join(t.TempDir(), "pmc"), Timeout: 200e6})
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Get(ptp.MIDPriority1)
		assert.ErrorIs(t, err, ErrNoAnswer)
		assert.Zero(t, c.AuthFailures(auth.FailMissing))
		assert.Equal(t, int32(1), refused.Load(), "the unsigned request")
	})

	t.Run("an SA without its key", func(t *testing.T) {
		_, err := Open(Config{Server: "x", SA: right, Key: wrong.Key(1)})
		assert.ErrorContains(t, err, "needs one of its keys")
	})
}
