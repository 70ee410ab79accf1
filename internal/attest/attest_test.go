package attest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var signedAt = time.Date(2026, 12, 1, 6, 0, 0, 123456789, time.UTC)

func sample() Statement {
	s := Statement{
		Host: "validator-07", Interface: "eth0", PortIdentity: "001122.fffe.334455-1", PortState: "SLAVE",
		DomainNumber: 0, GrandmasterIdentity: "aabbcc.fffe.ddeeff", GrandmasterPriority1: 128,
		GrandmasterClockClass: 6, GrandmasterAccuracy: 0x21, GrandmasterVariance: 0x4e5d, GrandmasterPriority2: 128,
		ParentPortIdentity: "aabbcc.fffe.ddeeff-1", StepsRemoved: 1, CurrentUTCOffset: 37,
		TimePropertiesFlags: 0x3c, TimeSource: 0x20, TimeSourceState: "none",
		WindowStart: signedAt.Add(-16 * time.Second), WindowEnd: signedAt.Add(-time.Second),
		SignedAt: signedAt, Nonce: []byte("0123456789abcdef"),
	}
	s.SetOffsets([]float64{40, 44, 42.5, 43}, []float64{1500, 1502})
	return s
}

func key(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

func TestSignVerify(t *testing.T) {
	k := key(t)
	doc, err := Sign(sample(), k)
	require.NoError(t, err)
	s, err := Verify(doc, Policy{Key: k.Public().(ed25519.PublicKey), Nonce: []byte("0123456789abcdef")})
	require.NoError(t, err)
	want := sample()
	want.PublicKey = k.Public().(ed25519.PublicKey)
	assert.InDelta(t, 42.375, want.OffsetMean, 1e-9)
	// The statement carries tenths of a nanosecond.
	want.OffsetMean, want.OffsetStdDev = 42.4, 1.7
	assert.Equal(t, want, s)
	assert.Equal(t, 4, s.Samples)
	assert.InDelta(t, 1501.0, s.MeanPathDelay, 1e-9)
	assert.True(t, strings.HasPrefix(string(doc), Header+"\nhost: validator-07\n"))
	assert.Contains(t, string(doc), "\noffsetMean: 42.4 ns\n")
	assert.Contains(t, string(doc), "\ngrandmasterClockAccuracy: 0x21\n")
	assert.Contains(t, string(doc), "\nnonce: 30313233343536373839616263646566\n")
}

// Every byte is covered: changing any one of them, the signature's
// included, makes verification fail.
func TestEveryByteCounts(t *testing.T) {
	k := key(t)
	doc, err := Sign(sample(), k)
	require.NoError(t, err)
	p := Policy{Key: k.Public().(ed25519.PublicKey), Nonce: []byte("0123456789abcdef")}
	for i := range doc {
		for _, x := range []byte{0x01, 0x20, 0x80} {
			bad := bytes.Clone(doc)
			bad[i] ^= x
			_, err := Verify(bad, p)
			require.Error(t, err, "byte %d ^ %#x (%q) accepted", i, x, doc[i])
		}
	}
	// Nothing may be added or taken away either.
	_, err = Verify(append(bytes.Clone(doc), '\n'), p)
	assert.Error(t, err)
	_, err = Verify(doc[:len(doc)-1], p)
	assert.Error(t, err)
}

func TestVerifyRefuses(t *testing.T) {
	k := key(t)
	pub := k.Public().(ed25519.PublicKey)
	doc, err := Sign(sample(), k)
	require.NoError(t, err)
	other := key(t)
	// A statement signed by another key but naming it honestly.
	forged, err := Sign(sample(), other)
	require.NoError(t, err)
	// A statement signed by another key but claiming ours: the key line
	// is swapped after signing.
	claimed := bytes.Replace(forged, []byte(keyText(other.Public().(ed25519.PublicKey))), []byte(keyText(pub)), 1)
	nonce := []byte("0123456789abcdef")
	for _, tc := range []struct {
		name string
		doc  []byte
		p    Policy
		want string
	}{
		{"another key", doc, Policy{Key: other.Public().(ed25519.PublicKey), Nonce: nonce}, "not by the enrolled key"},
		{"signed by another", forged, Policy{Key: pub, Nonce: nonce}, "not by the enrolled key"},
		{"claims our key", claimed, Policy{Key: pub, Nonce: nonce}, "signature does not match"},
		{"another nonce", doc, Policy{Key: pub, Nonce: []byte("fedcba9876543210")}, "another nonce"},
		{"no key", doc, Policy{Nonce: nonce}, "enrolled Ed25519 public key"},
		{"no nonce", doc, Policy{Key: pub}, "needs the nonce"},
		{"too old", doc, Policy{Key: pub, Nonce: nonce, MaxAge: time.Minute, Now: func() time.Time { return signedAt.Add(2 * time.Minute) }}, "beyond the 1m0s allowed"},
		{"from the future", doc, Policy{Key: pub, Nonce: nonce, MaxAge: time.Minute, Now: func() time.Time { return signedAt.Add(-2 * time.Minute) }}, "beyond"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.doc, tc.p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err = Verify(doc, Policy{Key: pub, Nonce: nonce, MaxAge: time.Minute, Now: func() time.Time { return signedAt.Add(30 * time.Second) }})
	assert.NoError(t, err)
}

// The format is strict: no reordering, repetition, extra lines, CRLF or
// padding is read, so no second document shares the signed bytes.
func TestParseStrict(t *testing.T) {
	doc, err := Sign(sample(), key(t))
	require.NoError(t, err)
	lines := strings.SplitAfter(string(doc), "\n")
	swap := append([]string(nil), lines...)
	swap[1], swap[2] = swap[2], swap[1]
	dup := append(append([]string(nil), lines[:2]...), lines[1:]...)
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"header", strings.Replace(string(doc), "v1", "v2", 1), "line 1"},
		{"reordered", strings.Join(swap, ""), `line 2: want "host"`},
		{"repeated", strings.Join(dup, ""), `line 3: want "interface"`},
		{"CRLF", strings.ReplaceAll(string(doc), "\n", "\r\n"), "line 1"},
		{"trailing space", strings.Replace(string(doc), "eth0\n", "eth0 \n", 1), "line 3: interface: leading or trailing space"},
		{"bad number", strings.Replace(string(doc), "stepsRemoved: 1\n", "stepsRemoved: 70000\n", 1), "stepsRemoved"},
		{"bad offset", strings.Replace(string(doc), "offsetMean: 42.4 ns", "offsetMean: NaN ns", 1), "offsetMean"},
		{"no signature", strings.Join(lines[:len(lines)-2], ""), "without its newline"},
		{"after signature", string(doc) + "x: y\n", "after the signature"},
		{"short nonce", strings.Replace(string(doc), "nonce: 30313233343536373839616263646566", "nonce: 3031", 1), "nonce"},
		{"upper-case nonce", strings.Replace(string(doc), "nonce: 30313233343536373839616263646566", "nonce: 303132333435363738396162636465AA", 1), "lower-case"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := Parse([]byte(tc.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, _, _, err = Parse(doc)
	assert.NoError(t, err)
	_, err = ParseNonce("30313233343536373839616263646546")
	assert.NoError(t, err)
	_, err = ParseNonce("303132333435363738396162636465AA")
	assert.ErrorContains(t, err, "lower-case")
}

func TestSignRefuses(t *testing.T) {
	k := key(t)
	for _, tc := range []struct {
		name string
		edit func(*Statement)
		want string
	}{
		{"newline in a value", func(s *Statement) { s.Host = "a\nsignature: x" }, "host: control character"},
		{"empty value", func(s *Statement) { s.Interface = "" }, "interface: empty"},
		{"short nonce", func(s *Statement) { s.Nonce = []byte{1, 2, 3} }, "nonce of 3 bytes"},
		{"long nonce", func(s *Statement) { s.Nonce = make([]byte, 65) }, "nonce of 65 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sample()
			tc.edit(&s)
			_, err := Sign(s, k)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSetOffsets(t *testing.T) {
	var s Statement
	s.SetOffsets([]float64{-10, 10}, nil)
	assert.Equal(t, 2, s.Samples)
	assert.InDelta(t, 0, s.OffsetMean, 1e-12)
	assert.InDelta(t, 14.1421356, s.OffsetStdDev, 1e-6)
	assert.Equal(t, -10.0, s.OffsetMin)
	assert.Equal(t, 10.0, s.OffsetMax)
	s.SetOffsets([]float64{5}, []float64{7})
	assert.Equal(t, 0.0, s.OffsetStdDev)
	assert.Equal(t, 7.0, s.MeanPathDelay)
}

func TestKeyCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "attestation.key")
	k, created, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	assert.True(t, created)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	again, created, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	assert.False(t, created)
	assert.True(t, k.Equal(again))
}

// Callers racing to make the key all end with the same one.
func TestKeyCreationRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "attestation.key")
	keys := make([]ed25519.PrivateKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := LoadOrCreateKey(path)
			assert.NoError(t, err)
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		assert.True(t, keys[0].Equal(k))
	}
}

func TestKeyRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "attestation.key")
	_, _, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o610} {
		require.NoError(t, os.Chmod(path, mode))
		_, err := LoadKey(path)
		require.Error(t, err, "mode %04o", mode)
		assert.Contains(t, err.Error(), "refused")
		_, _, err = LoadOrCreateKey(path)
		require.Error(t, err, "LoadOrCreateKey must not replace a refused key")
	}
	require.NoError(t, os.Chmod(path, 0o600))
	_, err = LoadKey(path)
	require.NoError(t, err)

	link := filepath.Join(dir, "link.key")
	require.NoError(t, os.Symlink(path, link))
	_, err = LoadKey(link)
	assert.Error(t, err, "a symlink is not followed")

	_, err = LoadKey(filepath.Join(dir, "absent.key"))
	assert.ErrorIs(t, err, ErrNoKey)

	junk := filepath.Join(dir, "junk.key")
	require.NoError(t, os.WriteFile(junk, []byte("not a key"), 0o600))
	_, err = LoadKey(junk)
	assert.ErrorContains(t, err, "PKCS #8")
}

func TestPublicKeyForms(t *testing.T) {
	k := key(t)
	pub := k.Public().(ed25519.PublicKey)
	p, err := PublicKeyPEM(pub)
	require.NoError(t, err)
	got, err := ParsePublicKey(p)
	require.NoError(t, err)
	assert.True(t, pub.Equal(got))
	got, err = ParsePublicKey([]byte(keyText(pub) + "\n"))
	require.NoError(t, err)
	assert.True(t, pub.Equal(got))
	_, err = ParsePublicKey([]byte("ed25519 AAAA"))
	assert.Error(t, err)
	assert.Regexp(t, `^SHA256:[0-9a-f]{16}$`, Fingerprint(pub))
}

// The key file is the PKCS #8 PEM that openssl makes and reads: a key
// from `openssl genpkey` signs, and openssl derives the same public key
// from ours.
func TestKeyOpenSSL(t *testing.T) {
	openssl := testenv.RequireCommand(t, "openssl", "openssl")
	dir := t.TempDir()
	path := filepath.Join(dir, "attestation.key")
	k, _, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	out, err := exec.Command(openssl, "pkey", "-in", path, "-pubout").Output()
	require.NoError(t, err)
	got, err := ParsePublicKey(out)
	require.NoError(t, err)
	assert.True(t, k.Public().(ed25519.PublicKey).Equal(got))

	theirs := filepath.Join(dir, "openssl.key")
	require.NoError(t, exec.Command(openssl, "genpkey", "-algorithm", "ed25519", "-out", theirs).Run())
	require.NoError(t, os.Chmod(theirs, 0o600))
	tk, err := LoadKey(theirs)
	require.NoError(t, err)
	_, err = Sign(sample(), tk)
	assert.NoError(t, err)
}

func FuzzParse(f *testing.F) {
	doc, err := Sign(sample(), key(f))
	require.NoError(f, err)
	f.Add(doc)
	f.Add([]byte(Header + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, signed, sig, err := Parse(b)
		if err != nil {
			return
		}
		require.True(t, bytes.HasPrefix(b, signed))
		require.Len(t, sig, ed25519.SignatureSize)
		// What parses can be written again, and says the same.
		body, err := s.body()
		require.NoError(t, err)
		s2, _, _, err := Parse(append(body, b[len(signed):]...))
		require.NoError(t, err)
		require.Equal(t, s.Host, s2.Host)
		require.Equal(t, s.Nonce, s2.Nonce)
	})
}
