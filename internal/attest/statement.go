package attest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Header is the first line of every statement. It names the format and
// its version, and because it is inside the signed bytes it also keeps a
// signature over some other document from being passed off as one of
// these (domain separation).
const Header = "roko-ptpd attestation v1"

// Nonce bounds: a verifier's nonce must be long enough not to repeat by
// chance (8 bytes) and short enough to sit on one line.
const (
	MinNonceLen = 8
	MaxNonceLen = 64
)

// Statement is what a host attests to. The field names follow IEEE
// 1588-2019's data sets (parentDS, currentDS, portDS, timePropertiesDS)
// so a reader with the standard open knows what each one is.
type Statement struct {
	Host      string // the host's name
	Interface string // the port's network interface
	// PortIdentity is the attesting port, "clockIdentity-portNumber".
	PortIdentity string
	PortState    string // portDS.portState, as pmc prints it
	DomainNumber uint8

	GrandmasterIdentity    string // parentDS.grandmasterIdentity
	GrandmasterPriority1   uint8
	GrandmasterClockClass  uint8
	GrandmasterAccuracy    uint8 // clockAccuracy, the enumeration's value
	GrandmasterVariance    uint16
	GrandmasterPriority2   uint8
	ParentPortIdentity     string
	StepsRemoved           uint16
	CurrentUTCOffset       int16
	TimePropertiesFlags    uint8  // timePropertiesDS flags (leap61, leap59, UTC valid, PTP timescale, traceable)
	TimeSource             uint8  // timePropertiesDS.timeSource
	TimeSourceState        string // a grandmaster's own time source (LOCKED, HOLDOVER, FREERUN), or "none"
	Samples                int
	WindowStart, WindowEnd time.Time
	OffsetMean             float64 // ns, offsetFromMaster over the window
	OffsetStdDev           float64 // ns, sample standard deviation
	OffsetMin, OffsetMax   float64 // ns
	MeanPathDelay          float64 // ns, mean over the window
	SignedAt               time.Time
	Nonce                  []byte
	PublicKey              ed25519.PublicKey
}

// field is one line of the format: its name, how to write it, and how to
// read it back.
type field struct {
	name  string
	write func(s *Statement) string
	read  func(s *Statement, v string) error
}

// fields is the format: the lines after Header, in this order, each
// exactly once, then the signature line. Changing it means a new Header.
var fields = []field{
	{"host", func(s *Statement) string { return s.Host }, func(s *Statement, v string) error { s.Host = v; return nil }},
	{"interface", func(s *Statement) string { return s.Interface }, func(s *Statement, v string) error { s.Interface = v; return nil }},
	{"portIdentity", func(s *Statement) string { return s.PortIdentity }, func(s *Statement, v string) error { s.PortIdentity = v; return nil }},
	{"portState", func(s *Statement) string { return s.PortState }, func(s *Statement, v string) error { s.PortState = v; return nil }},
	{"domainNumber", func(s *Statement) string { return u(s.DomainNumber) }, func(s *Statement, v string) error { return pu(v, 8, &s.DomainNumber) }},
	{"grandmasterIdentity", func(s *Statement) string { return s.GrandmasterIdentity }, func(s *Statement, v string) error { s.GrandmasterIdentity = v; return nil }},
	{"grandmasterPriority1", func(s *Statement) string { return u(s.GrandmasterPriority1) }, func(s *Statement, v string) error { return pu(v, 8, &s.GrandmasterPriority1) }},
	{"grandmasterClockClass", func(s *Statement) string { return u(s.GrandmasterClockClass) }, func(s *Statement, v string) error { return pu(v, 8, &s.GrandmasterClockClass) }},
	{"grandmasterClockAccuracy", func(s *Statement) string { return fmt.Sprintf("0x%02x", s.GrandmasterAccuracy) }, func(s *Statement, v string) error { return px(v, 8, &s.GrandmasterAccuracy) }},
	{"grandmasterOffsetScaledLogVariance", func(s *Statement) string { return fmt.Sprintf("0x%04x", s.GrandmasterVariance) }, func(s *Statement, v string) error { return px(v, 16, &s.GrandmasterVariance) }},
	{"grandmasterPriority2", func(s *Statement) string { return u(s.GrandmasterPriority2) }, func(s *Statement, v string) error { return pu(v, 8, &s.GrandmasterPriority2) }},
	{"parentPortIdentity", func(s *Statement) string { return s.ParentPortIdentity }, func(s *Statement, v string) error { s.ParentPortIdentity = v; return nil }},
	{"stepsRemoved", func(s *Statement) string { return u(s.StepsRemoved) }, func(s *Statement, v string) error { return pu(v, 16, &s.StepsRemoved) }},
	{"currentUtcOffset", func(s *Statement) string { return strconv.Itoa(int(s.CurrentUTCOffset)) }, func(s *Statement, v string) error {
		n, err := strconv.ParseInt(v, 10, 16)
		s.CurrentUTCOffset = int16(n)
		return err
	}},
	{"timePropertiesFlags", func(s *Statement) string { return fmt.Sprintf("0x%02x", s.TimePropertiesFlags) }, func(s *Statement, v string) error { return px(v, 8, &s.TimePropertiesFlags) }},
	{"timeSource", func(s *Statement) string { return fmt.Sprintf("0x%02x", s.TimeSource) }, func(s *Statement, v string) error { return px(v, 8, &s.TimeSource) }},
	{"timeSourceState", func(s *Statement) string { return s.TimeSourceState }, func(s *Statement, v string) error { s.TimeSourceState = v; return nil }},
	{"samples", func(s *Statement) string { return strconv.Itoa(s.Samples) }, func(s *Statement, v string) error {
		n, err := strconv.ParseUint(v, 10, 31)
		s.Samples = int(n)
		return err
	}},
	{"windowStart", func(s *Statement) string { return ts(s.WindowStart) }, func(s *Statement, v string) error { return pt(v, &s.WindowStart) }},
	{"windowEnd", func(s *Statement) string { return ts(s.WindowEnd) }, func(s *Statement, v string) error { return pt(v, &s.WindowEnd) }},
	{"offsetMean", func(s *Statement) string { return nsf(s.OffsetMean) }, func(s *Statement, v string) error { return pns(v, &s.OffsetMean) }},
	{"offsetStdDev", func(s *Statement) string { return nsf(s.OffsetStdDev) }, func(s *Statement, v string) error { return pns(v, &s.OffsetStdDev) }},
	{"offsetMin", func(s *Statement) string { return nsf(s.OffsetMin) }, func(s *Statement, v string) error { return pns(v, &s.OffsetMin) }},
	{"offsetMax", func(s *Statement) string { return nsf(s.OffsetMax) }, func(s *Statement, v string) error { return pns(v, &s.OffsetMax) }},
	{"meanPathDelay", func(s *Statement) string { return nsf(s.MeanPathDelay) }, func(s *Statement, v string) error { return pns(v, &s.MeanPathDelay) }},
	{"signedAt", func(s *Statement) string { return ts(s.SignedAt) }, func(s *Statement, v string) error { return pt(v, &s.SignedAt) }},
	{"nonce", func(s *Statement) string { return hex.EncodeToString(s.Nonce) }, func(s *Statement, v string) error {
		n, err := ParseNonce(v)
		s.Nonce = n
		return err
	}},
	{"publicKey", func(s *Statement) string { return keyText(s.PublicKey) }, func(s *Statement, v string) error {
		k, err := ParsePublicKeyText(v)
		s.PublicKey = k
		return err
	}},
}

// signatureField is the last line; everything before it is signed.
const signatureField = "signature"

// body is the signed bytes: Header and every field, each line ending in
// "\n". It refuses a statement whose text fields could not be read back
// as written (a newline, or a value that is not UTF-8), and a number that
// is not finite.
func (s *Statement) body() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(Header)
	b.WriteByte('\n')
	for _, f := range fields {
		v := f.write(s)
		if err := checkValue(v); err != nil {
			return nil, fmt.Errorf("attest: %s: %w", f.name, err)
		}
		b.WriteString(f.name)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	for _, x := range []float64{s.OffsetMean, s.OffsetStdDev, s.OffsetMin, s.OffsetMax, s.MeanPathDelay} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errors.New("attest: an offset statistic is not a finite number")
		}
	}
	return b.Bytes(), nil
}

// checkValue refuses what would not survive the line format: a line
// break, leading or trailing space (parsing trims nothing), control
// characters, or bytes that are not UTF-8.
func checkValue(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(v) {
		return errors.New("not UTF-8")
	}
	if strings.TrimSpace(v) != v {
		return errors.New("leading or trailing space")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// Sign returns the statement signed with key: the signed bytes followed by
// the signature line. It sets s.PublicKey from key first, so that the
// statement names the key that signed it.
func Sign(s Statement, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("attest: not an Ed25519 private key")
	}
	if len(s.Nonce) < MinNonceLen || len(s.Nonce) > MaxNonceLen {
		return nil, fmt.Errorf("attest: a nonce of %d bytes; the verifier's nonce must be %d to %d bytes", len(s.Nonce), MinNonceLen, MaxNonceLen)
	}
	s.PublicKey = key.Public().(ed25519.PublicKey)
	body, err := s.body()
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, body)
	out := append(body, signatureField+": ed25519 "...)
	out = base64.StdEncoding.AppendEncode(out, sig)
	return append(out, '\n'), nil
}

// Parse reads a signed statement without checking its signature: it
// returns the facts, the signed bytes and the signature. The format is
// strict (every field once, in order, nothing else), so that two different
// documents can never carry the same signed bytes.
func Parse(doc []byte) (s Statement, signed, sig []byte, err error) {
	rest := doc
	line := func() (string, error) {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return "", errors.New("a line without its newline")
		}
		l := string(rest[:i])
		rest = rest[i+1:]
		return l, nil
	}
	lineNo := 1
	h, err := line()
	if err != nil || h != Header {
		return s, nil, nil, fmt.Errorf("attest: line 1: not a %q statement", Header)
	}
	for _, f := range fields {
		lineNo++
		l, err := line()
		if err != nil {
			return s, nil, nil, fmt.Errorf("attest: line %d: %w", lineNo, err)
		}
		v, ok := strings.CutPrefix(l, f.name+": ")
		if !ok {
			return s, nil, nil, fmt.Errorf("attest: line %d: want %q, have %q", lineNo, f.name, l)
		}
		if err := checkValue(v); err != nil {
			return s, nil, nil, fmt.Errorf("attest: line %d: %s: %w", lineNo, f.name, err)
		}
		if err := f.read(&s, v); err != nil {
			return s, nil, nil, fmt.Errorf("attest: line %d: %s %q: %w", lineNo, f.name, v, err)
		}
	}
	signed = doc[:len(doc)-len(rest)]
	lineNo++
	l, err := line()
	if err != nil {
		return s, nil, nil, fmt.Errorf("attest: line %d: %w", lineNo, err)
	}
	v, ok := strings.CutPrefix(l, signatureField+": ed25519 ")
	if !ok {
		return s, nil, nil, fmt.Errorf("attest: line %d: want an ed25519 %q line", lineNo, signatureField)
	}
	sig, err = base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return s, nil, nil, fmt.Errorf("attest: line %d: not an Ed25519 signature", lineNo)
	}
	if len(rest) != 0 {
		return s, nil, nil, fmt.Errorf("attest: %d bytes after the signature", len(rest))
	}
	return s, signed, sig, nil
}

// Policy is what a verifier asks of a statement beyond its signature.
type Policy struct {
	// Key is the host's enrolled public key. Required: a statement that
	// only names its own key proves nothing about who made it.
	Key ed25519.PublicKey
	// Nonce is the verifier's nonce. Required: without it an old
	// statement could be replayed.
	Nonce []byte
	// MaxAge, when not zero, bounds how long ago signedAt may be (by the
	// verifier's clock, Now); a statement from the future beyond it is
	// refused as well.
	MaxAge time.Duration
	Now    func() time.Time
}

// Verify checks doc against p and returns its facts. Any change to any
// byte of doc, another key, or another nonce makes it fail.
func Verify(doc []byte, p Policy) (Statement, error) {
	if len(p.Key) != ed25519.PublicKeySize {
		return Statement{}, errors.New("attest: verifying needs the host's enrolled Ed25519 public key")
	}
	if len(p.Nonce) == 0 {
		return Statement{}, errors.New("attest: verifying needs the nonce the statement was asked with")
	}
	s, signed, sig, err := Parse(doc)
	if err != nil {
		return s, err
	}
	if !s.PublicKey.Equal(p.Key) {
		return s, fmt.Errorf("attest: signed by key %s, not by the enrolled key %s", Fingerprint(s.PublicKey), Fingerprint(p.Key))
	}
	if !ed25519.Verify(p.Key, signed, sig) {
		return s, errors.New("attest: the signature does not match the statement")
	}
	if !bytes.Equal(s.Nonce, p.Nonce) {
		return s, errors.New("attest: the statement answers another nonce (replayed, or asked by someone else)")
	}
	if p.MaxAge > 0 {
		now := time.Now
		if p.Now != nil {
			now = p.Now
		}
		if age := now().Sub(s.SignedAt); age > p.MaxAge || age < -p.MaxAge {
			return s, fmt.Errorf("attest: signed %v ago, beyond the %v allowed", age.Round(time.Millisecond), p.MaxAge)
		}
	}
	return s, nil
}

// ParseNonce reads a verifier's nonce: hex, MinNonceLen to MaxNonceLen
// bytes.
func ParseNonce(v string) ([]byte, error) {
	n, err := hex.DecodeString(v)
	if err != nil {
		return nil, errors.New("a nonce is hex digits")
	}
	if len(n) < MinNonceLen || len(n) > MaxNonceLen {
		return nil, fmt.Errorf("a nonce of %d bytes; want %d to %d", len(n), MinNonceLen, MaxNonceLen)
	}
	if v != hex.EncodeToString(n) {
		return nil, errors.New("a nonce is lower-case hex")
	}
	return n, nil
}

// keyText is a public key as the statement and key files carry it on one
// line: "ed25519 " and the key's 32 bytes in base64.
func keyText(k ed25519.PublicKey) string {
	return "ed25519 " + base64.StdEncoding.EncodeToString(k)
}

// ParsePublicKeyText reads the one-line form of a public key written by
// keyText.
func ParsePublicKeyText(v string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(v, "ed25519 ")
	if !ok {
		return nil, errors.New(`a public key is "ed25519 " and base64`)
	}
	k, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, errors.New("not a 32-byte Ed25519 public key in base64")
	}
	return ed25519.PublicKey(k), nil
}

func u[T uint8 | uint16](v T) string { return strconv.FormatUint(uint64(v), 10) }

func pu[T uint8 | uint16](v string, bits int, out *T) error {
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return errors.New("not a number in range")
	}
	*out = T(n)
	return nil
}

func px[T uint8 | uint16](v string, bits int, out *T) error {
	h, ok := strings.CutPrefix(v, "0x")
	if !ok {
		return errors.New("want 0x and hex digits")
	}
	n, err := strconv.ParseUint(h, 16, bits)
	if err != nil {
		return errors.New("not hex in range")
	}
	*out = T(n)
	return nil
}

// Times are UTC with nanoseconds, as the host's CLOCK_REALTIME read them.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func pt(v string, out *time.Time) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return errors.New("not an RFC 3339 time")
	}
	*out = t
	return nil
}

// Offsets are nanoseconds to a tenth: currentDS carries them in 2^-16 ns,
// finer than any clock here is right.
func nsf(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " ns" }

func pns(v string, out *float64) error {
	n, ok := strings.CutSuffix(v, " ns")
	if !ok {
		return errors.New(`want a number and " ns"`)
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("not a finite number")
	}
	*out = f
	return nil
}

// SetOffsets fills the offset statistics and the path delay from a
// window's samples of currentDS (ns): mean, sample standard deviation,
// extremes, and the number of samples.
func (s *Statement) SetOffsets(offsets, delays []float64) {
	s.Samples = len(offsets)
	s.OffsetMean, s.OffsetStdDev, s.OffsetMin, s.OffsetMax = 0, 0, 0, 0
	if len(offsets) == 0 {
		return
	}
	var sum float64
	s.OffsetMin, s.OffsetMax = offsets[0], offsets[0]
	for _, o := range offsets {
		sum += o
		s.OffsetMin = min(s.OffsetMin, o)
		s.OffsetMax = max(s.OffsetMax, o)
	}
	s.OffsetMean = sum / float64(len(offsets))
	if len(offsets) > 1 {
		var ss float64
		for _, o := range offsets {
			ss += (o - s.OffsetMean) * (o - s.OffsetMean)
		}
		s.OffsetStdDev = math.Sqrt(ss / float64(len(offsets)-1))
	}
	var d float64
	for _, x := range delays {
		d += x
	}
	if len(delays) > 0 {
		s.MeanPathDelay = d / float64(len(delays))
	}
}
