package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/roko-network/roko-ptpd/internal/attest"
	"github.com/roko-network/roko-ptpd/internal/getopt"
	"github.com/roko-network/roko-ptpd/internal/mgmt"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/transport"
)

// attestCmd signs a statement of what the daemon's clock did over a
// window, for the verifier whose nonce it is given; or, with
// --public-key, prints the key a verifier enrolls for this host.
func attestCmd(args []string, w io.Writer) error {
	o := daemonOpts{uds: transport.DefaultUDSAddress, samples: 10, interval: time.Second, keyPath: attest.DefaultKeyPath}
	nonceHex, out := "", ""
	printKey := false
	err := getopt.Parse(args, getopt.Handlers{
		WithArg: "sdo",
		Flags:   []string{"public-key"},
		Short: func(c byte, arg string) error {
			if c == 'o' {
				out = arg
				return nil
			}
			return o.short(c, arg)
		},
		Long: func(name, value string) error {
			if ok, err := o.long(name, value); ok {
				return err
			}
			switch name {
			case "nonce":
				nonceHex = value
			case "public-key":
				printKey = true
			default:
				return fmt.Errorf("unknown option --%s", name)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if o.samples < 1 {
		return fmt.Errorf("--samples %d: at least 1", o.samples)
	}
	key, created, err := attest.LoadOrCreateKey(o.keyPath)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(os.Stderr, "roko-ptpctl: made a new attestation key %s (%s)\n", o.keyPath, attest.Fingerprint(key.Public().(ed25519.PublicKey)))
	}
	if printKey {
		p, err := attest.PublicKeyPEM(key.Public().(ed25519.PublicKey))
		if err != nil {
			return err
		}
		_, err = w.Write(p)
		return err
	}
	if nonceHex == "" {
		return errors.New("attest: --nonce HEX is required: the verifier's nonce binds the statement to its question (make one with `openssl rand -hex 16`)")
	}
	nonce, err := attest.ParseNonce(nonceHex)
	if err != nil {
		return fmt.Errorf("--nonce: %w", err)
	}
	c, err := mgmt.Dial(o.uds, o.domain)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := gatherStatement(c, o.samples, o.interval)
	if err != nil {
		return err
	}
	st.Nonce = nonce
	doc, err := attest.Sign(st, key)
	if err != nil {
		return err
	}
	if out == "" {
		_, err = w.Write(doc)
		return err
	}
	return os.WriteFile(out, doc, 0o644)
}

// gatherStatement reads the daemon's data sets: currentDS samples over the
// window first, then what the port and its grandmaster were at its end.
func gatherStatement(c *mgmt.Client, samples int, interval time.Duration) (attest.Statement, error) {
	var st attest.Statement
	var offsets, delays []float64
	st.WindowStart = time.Now()
	for i := 0; i < samples; i++ {
		if i > 0 {
			time.Sleep(interval)
		}
		cds, err := c.Current()
		if err != nil {
			return st, err
		}
		offsets = append(offsets, float64(cds.OffsetFromMaster)/65536)
		delays = append(delays, float64(cds.MeanPathDelay)/65536)
		st.StepsRemoved = cds.StepsRemoved
	}
	st.WindowEnd = time.Now()
	st.SetOffsets(offsets, delays)

	rs, err := c.Get(ptp.MIDPortPropertiesNP)
	if err != nil {
		return st, err
	}
	pp, err := attestedPort(rs)
	if err != nil {
		return st, err
	}
	var parent ptp.ParentDataSet
	var dds ptp.DefaultDataSet
	for _, g := range []struct {
		id ptp.ManagementID
		d  ptp.ManagementData
	}{{ptp.MIDParentDataSet, &parent}, {ptp.MIDDefaultDataSet, &dds}} {
		rs, err := c.Get(g.id)
		if err != nil {
			return st, err
		}
		if err := rs[0].Data(g.d); err != nil {
			return st, fmt.Errorf("%v: %w", g.id, err)
		}
	}
	tp, err := c.TimeProperties()
	if err != nil {
		return st, err
	}
	st.Host, err = os.Hostname()
	if err != nil {
		return st, err
	}
	st.Interface = string(pp.Interface)
	st.PortIdentity = pp.PortIdentity.String()
	st.PortState = pp.PortState.String()
	st.DomainNumber = dds.DomainNumber
	st.GrandmasterIdentity = parent.GrandmasterIdentity.String()
	st.GrandmasterPriority1 = parent.GrandmasterPriority1
	st.GrandmasterClockClass = parent.GrandmasterClockQuality.ClockClass
	st.GrandmasterAccuracy = uint8(parent.GrandmasterClockQuality.ClockAccuracy)
	st.GrandmasterVariance = parent.GrandmasterClockQuality.OffsetScaledLogVariance
	st.GrandmasterPriority2 = parent.GrandmasterPriority2
	st.ParentPortIdentity = parent.ParentPortIdentity.String()
	st.CurrentUTCOffset = tp.CurrentUTCOffset
	st.TimePropertiesFlags = tp.Flags
	st.TimeSource = uint8(tp.TimeSource)
	st.TimeSourceState = "none"
	// Only a grandmaster with a source answers; ptp4l and clients do not.
	if ts, err := c.TimeSource(); err == nil {
		st.TimeSourceState = ts.State.String()
	}
	st.SignedAt = time.Now()
	return st, nil
}

// attestedPort picks, from PORT_PROPERTIES_NP's answers (one per port),
// the port the statement is about: the one synchronising the clock
// (SLAVE, else UNCALIBRATED), whose offsets currentDS holds; on a clock
// with none, a grandmaster or a boundary clock without a master, the
// first port.
func attestedPort(rs []*ptp.Management) (ptp.PortPropertiesNP, error) {
	ports := make([]ptp.PortPropertiesNP, len(rs))
	for i, r := range rs {
		if err := r.Data(&ports[i]); err != nil {
			return ptp.PortPropertiesNP{}, fmt.Errorf("%v: %w", ptp.MIDPortPropertiesNP, err)
		}
	}
	for _, want := range []ptp.PortState{ptp.PortStateSlave, ptp.PortStateUncalibrated} {
		for _, p := range ports {
			if p.PortState == want {
				return p, nil
			}
		}
	}
	if len(ports) == 0 {
		return ptp.PortPropertiesNP{}, fmt.Errorf("%v: no port answered", ptp.MIDPortPropertiesNP)
	}
	return ports[0], nil
}

// verifyCmd checks a statement against the host's enrolled key and the
// nonce it was asked with, and prints its facts when it holds.
func verifyCmd(args []string, w io.Writer) error {
	var pubPath, nonceHex string
	var maxAge time.Duration
	var files []string
	err := getopt.Parse(args, getopt.Handlers{
		Short: func(c byte, arg string) error { return getopt.Invalid(c) },
		Long: func(name, value string) error {
			var err error
			switch name {
			case "pub":
				pubPath = value
			case "nonce":
				nonceHex = value
			case "max-age":
				maxAge, err = time.ParseDuration(value)
			default:
				return fmt.Errorf("unknown option --%s", name)
			}
			if err != nil {
				return fmt.Errorf("--%s %q: %w", name, value, err)
			}
			return nil
		},
		Positional: func(a string) error { files = append(files, a); return nil },
	})
	if err != nil {
		return err
	}
	if pubPath == "" || nonceHex == "" || len(files) != 1 {
		return errors.New("usage: roko-ptpctl verify --pub HOST.pub --nonce HEX [--max-age D] STATEMENT|-")
	}
	pb, err := os.ReadFile(pubPath)
	if err != nil {
		return err
	}
	pub, err := attest.ParsePublicKey(pb)
	if err != nil {
		return fmt.Errorf("%s: %w", pubPath, err)
	}
	nonce, err := attest.ParseNonce(nonceHex)
	if err != nil {
		return fmt.Errorf("--nonce: %w", err)
	}
	var doc []byte
	if files[0] == "-" {
		doc, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<16))
	} else {
		doc, err = os.ReadFile(files[0])
	}
	if err != nil {
		return err
	}
	st, err := attest.Verify(doc, attest.Policy{Key: pub, Nonce: nonce, MaxAge: maxAge})
	if err != nil {
		fmt.Fprintf(w, "INVALID: %v\n", err)
		return errors.New("attestation INVALID")
	}
	fmt.Fprintf(w, "VALID: %s (%s) signed at %s by %s\n", st.Host, st.Interface, st.SignedAt.Format(time.RFC3339Nano), attest.Fingerprint(pub))
	fmt.Fprintf(w, "  port %s %s, grandmaster %s class %d accuracy 0x%02x, stepsRemoved %d\n",
		st.PortIdentity, st.PortState, st.GrandmasterIdentity, st.GrandmasterClockClass, st.GrandmasterAccuracy, st.StepsRemoved)
	fmt.Fprintf(w, "  offset over %d samples (%s to %s): mean %.1f ns, stddev %.1f ns, min %.1f ns, max %.1f ns; meanPathDelay %.1f ns\n",
		st.Samples, st.WindowStart.Format(time.RFC3339), st.WindowEnd.Format(time.RFC3339), st.OffsetMean, st.OffsetStdDev, st.OffsetMin, st.OffsetMax, st.MeanPathDelay)
	return nil
}

// attestationState is status's "Attestation:" line, the state and why:
// whether this host can attest to what status just read. NONE: no key (or
// not one this user may read); INVALID: the key is refused or a statement
// made with it does not verify; VALID: a statement of the daemon's state,
// signed with the key for a fresh nonce, verifies against the key's
// public half.
func attestationState(c *mgmt.Client, keyPath string) (state, detail string) {
	key, err := attest.LoadKey(keyPath)
	switch {
	case errors.Is(err, attest.ErrNoKey):
		return "NONE", fmt.Sprintf("no key at %s; `roko-ptpctl attest --public-key` makes one", keyPath)
	case errors.Is(err, fs.ErrPermission):
		return "NONE", fmt.Sprintf("%s is not readable by this user", keyPath)
	case err != nil:
		return "INVALID", err.Error()
	}
	st, err := gatherStatement(c, 1, 0)
	if err != nil {
		return "INVALID", err.Error()
	}
	st.Nonce = make([]byte, 16)
	if _, err := rand.Read(st.Nonce); err != nil {
		return "INVALID", err.Error()
	}
	pub := key.Public().(ed25519.PublicKey)
	doc, err := attest.Sign(st, key)
	if err == nil {
		_, err = attest.Verify(doc, attest.Policy{Key: pub, Nonce: st.Nonce})
	}
	if err != nil {
		return "INVALID", err.Error()
	}
	return "VALID", "key " + attest.Fingerprint(pub)
}
