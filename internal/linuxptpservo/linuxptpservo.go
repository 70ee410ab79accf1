// Package linuxptpservo runs linuxptp 4.4's own servo code in a child
// process and drives it exactly as ptp4l does, so that the simulator
// (internal/sim) and the servo report compare roko-ptpd's servos with
// linuxptp's real ones rather than with a rewrite.
//
// The child is a small C harness of this package (csrc/harness.c, embedded
// as text) compiled with linuxptp's servo.c, pi.c and linreg.c, taken from
// the linuxptp 4.4 source tarball at test time; configuration lookups are
// answered with linuxptp 4.4's defaults. The package is for tests only:
// nothing in the daemon imports it, and it must never carry linuxptp's
// code in the repository.
package linuxptpservo

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/testenv"

	"github.com/roko-network/roko-ptpd/servo"
)

//go:embed csrc/harness.c
var harnessSource []byte

// servoSources are the linuxptp files the harness compiles; every header
// of the tarball is extracted too, for their declarations.
var servoSources = []string{"servo.c", "pi.c", "linreg.c"}

// Build checks the tarball's digest, extracts linuxptp's servo sources and
// headers into dir and compiles the harness with them using compiler (gcc
// or cc), as linuxptp's makefile does (-Wall, no optimisation flags). It
// returns the path of the harness binary.
func Build(compiler, tarball, dir string) (string, error) {
	raw, err := os.ReadFile(tarball)
	if err != nil {
		return "", fmt.Errorf("linuxptpservo: %w", err)
	}
	if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != linuxptp.Tarball44SHA256 {
		return "", fmt.Errorf("linuxptpservo: %s: sha256 %x, want linuxptp 4.4's %s", tarball, sum, linuxptp.Tarball44SHA256)
	}
	src := filepath.Join(dir, "linuxptp-4.4")
	if err := extract(raw, dir); err != nil {
		return "", fmt.Errorf("linuxptpservo: %s: %w", tarball, err)
	}
	harness := filepath.Join(dir, "harness.c")
	if err := os.WriteFile(harness, harnessSource, 0o644); err != nil {
		return "", fmt.Errorf("linuxptpservo: %w", err)
	}
	bin := filepath.Join(dir, "linuxptp-servo")
	args := []string{"-Wall", "-I", src, "-o", bin, harness}
	for _, f := range servoSources {
		args = append(args, filepath.Join(src, f))
	}
	args = append(args, "-lm")
	out, err := exec.Command(compiler, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("linuxptpservo: %s %s: %w\n%s", compiler, strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// extract writes the headers and servoSources of the linuxptp-4.4/
// directory of the gzipped tarball raw under dir.
func extract(raw []byte, dir string) error {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	want := map[string]bool{}
	for _, f := range servoSources {
		want["linuxptp-4.4/"+f] = true
	}
	if err := os.MkdirAll(filepath.Join(dir, "linuxptp-4.4"), 0o755); err != nil {
		return err
	}
	found := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := h.Name
		header := strings.HasPrefix(name, "linuxptp-4.4/") && strings.HasSuffix(name, ".h") && !strings.Contains(name[len("linuxptp-4.4/"):], "/")
		if h.Typeflag != tar.TypeReg || !header && !want[name] {
			continue
		}
		if want[name] {
			found++
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), b, 0o644); err != nil {
			return err
		}
	}
	if found != len(servoSources) {
		return fmt.Errorf("found %d of %v", found, servoSources)
	}
	return nil
}

// Servo is one of linuxptp's servos in a harness process, driven as ptp4l's
// clock_synchronize drives it: the frequency Sample returns is the
// negation of what linuxptp's servo_sample returns (ptp4l sets the clock
// to −adj), and on Jump the caller steps the clock by −offset, as ptp4l
// does, without resetting the servo. It implements servo.Servo.
//
// A Servo is not safe for concurrent use. If the harness fails, Sample
// keeps answering the last frequency with Unlocked and Err reports why.
type Servo struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	w      *bufio.Writer
	r      *bufio.Reader
	stderr testenv.Buffer
	ppb    float64
	err    error
}

// Start runs the harness binary and creates a linuxptp servo of the given
// kind in it, configured from cfg as ptp4l would be from the same options,
// on a clock whose frequency is now frequency ppb (positive runs faster).
// cfg.LinRegMaxOrder is ignored: linuxptp's linreg always keeps 64 points.
func Start(binary string, kind servo.Kind, cfg servo.Config, frequency float64) (*Servo, error) {
	if kind != servo.KindPI && kind != servo.KindLinReg {
		return nil, fmt.Errorf("linuxptpservo: kind %q: not pi or linreg", kind)
	}
	s := &Servo{cmd: exec.Command(binary), ppb: frequency}
	s.cmd.Stderr = &s.stderr
	stdin, err := s.cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("linuxptpservo: %w", err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("linuxptpservo: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("linuxptpservo: %w", err)
	}
	s.stdin, s.w, s.r = stdin, bufio.NewWriter(stdin), bufio.NewReader(stdout)

	pi := cfg.PI
	for _, o := range []struct {
		name  string
		value float64
	}{
		{"first_step_threshold", cfg.FirstStepThreshold.Seconds()},
		{"step_threshold", cfg.StepThreshold.Seconds()},
		{"max_frequency", cfg.MaxFrequency},
		{"servo_offset_threshold", float64(cfg.OffsetThreshold)},
		{"servo_num_offset_values", float64(cfg.NumOffsetValues)},
		{"pi_proportional_const", pi.ProportionalConst},
		{"pi_integral_const", pi.IntegralConst},
		{"pi_proportional_scale", pi.ProportionalScale},
		{"pi_proportional_exponent", pi.ProportionalExponent},
		{"pi_proportional_norm_max", pi.ProportionalNormMax},
		{"pi_integral_scale", pi.IntegralScale},
		{"pi_integral_exponent", pi.IntegralExponent},
		{"pi_integral_norm_max", pi.IntegralNormMax},
	} {
		if _, err := s.call("config", o.name, fmtFloat(o.value)); err != nil {
			s.Close()
			return nil, err
		}
	}
	swTS := "0"
	if pi.SoftwareTimestamps {
		swTS = "1"
	}
	// clock_create: servo_create(cfg, type, -fadj, max_adj, sw_ts), with
	// fadj the frequency now set on the clock.
	if _, err := s.call("create", string(kind), fmtFloat(-frequency), strconv.FormatInt(int64(cfg.MaxFrequency), 10), swTS); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// call sends one command and returns the answer line.
func (s *Servo) call(args ...string) (string, error) {
	if s.err != nil {
		return "", s.err
	}
	s.w.WriteString(strings.Join(args, " "))
	s.w.WriteByte('\n')
	if err := s.w.Flush(); err != nil {
		s.err = fmt.Errorf("linuxptpservo: %s: %w (%s)", args[0], err, strings.TrimSpace(s.stderr.String()))
		return "", s.err
	}
	line, err := s.r.ReadString('\n')
	if err != nil {
		s.err = fmt.Errorf("linuxptpservo: %s: %w (%s)", args[0], err, strings.TrimSpace(s.stderr.String()))
		return "", s.err
	}
	line = strings.TrimSuffix(line, "\n")
	if msg, ok := strings.CutPrefix(line, "error "); ok {
		s.err = fmt.Errorf("linuxptpservo: harness: %s", msg)
		return "", s.err
	}
	return line, nil
}

// Sample implements servo.Servo: servo_sample with weight 1 (ptp4l's
// weight without tsproc weighting), answered with −adj as ptp4l sets it.
func (s *Servo) Sample(offset, localTime int64) (float64, servo.State) {
	if localTime < 0 {
		s.err = errors.New("linuxptpservo: negative local time")
	}
	line, err := s.call("sample", strconv.FormatInt(offset, 10), strconv.FormatInt(localTime, 10), "1")
	if err != nil {
		return s.ppb, servo.Unlocked
	}
	adjText, stateText, ok := strings.Cut(line, " ")
	adj, err1 := strconv.ParseFloat(adjText, 64)
	state, err2 := strconv.ParseUint(stateText, 10, 8)
	if !ok || err1 != nil || err2 != nil || state > uint64(servo.LockedStable) {
		s.err = fmt.Errorf("linuxptpservo: sample: bad answer %q", line)
		return s.ppb, servo.Unlocked
	}
	st := servo.State(state)
	if st != servo.Unlocked {
		s.ppb = -adj
	}
	return -adj, st
}

// SetSyncInterval implements servo.Servo (servo_sync_interval).
func (s *Servo) SetSyncInterval(seconds float64) {
	s.call("interval", fmtFloat(seconds))
}

// Reset implements servo.Servo (servo_reset).
func (s *Servo) Reset() { s.call("reset") }

// RateRatio returns servo_rate_ratio: linreg's estimate, 1 for PI.
func (s *Servo) RateRatio() (float64, error) {
	line, err := s.call("ratio")
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(line, 64)
}

// Err returns the first failure of the harness, if any.
func (s *Servo) Err() error { return s.err }

// Close ends the harness process and returns the first failure seen.
func (s *Servo) Close() error {
	s.stdin.Close()
	werr := s.cmd.Wait()
	if s.err == nil && werr != nil {
		s.err = fmt.Errorf("linuxptpservo: harness: %w (%s)", werr, strings.TrimSpace(s.stderr.String()))
	}
	return s.err
}
