package phc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// savedFrequencyFile is where TestSystemFrequencySteering writes
// CLOCK_REALTIME's frequency before it changes it, and removes once it has
// put it back. A run killed in between (a timeout, a kill -9) cannot run
// its deferred restore; the next run of this package finds the file and
// restores the value first.
var savedFrequencyFile = filepath.Join(os.TempDir(), "roko-ptpd-realtime-frequency")

// TestMain restores CLOCK_REALTIME's frequency that a killed run left
// changed, before any test reads the clock; or, in the second process of
// TestEmulatedSharedClock or TestEmulatedPPSSharedProcess, plays that
// process's part.
func TestMain(m *testing.M) {
	if path := os.Getenv("ROKO_EMUPHC_CHILD"); path != "" {
		// TestEmulatedSharedClock's second process, not a test run.
		if err := emulatedChild(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if path := os.Getenv("ROKO_EMUPPS_CHILD"); path != "" {
		// TestEmulatedPPSSharedProcess's second process.
		if err := emulatedPPSChild(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if err := restoreSavedFrequency(); err != nil {
		fmt.Fprintf(os.Stderr, "phc tests: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// restoreSavedFrequency puts back the frequency in savedFrequencyFile, if
// there is one.
func restoreSavedFrequency() error {
	b, err := os.ReadFile(savedFrequencyFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	ppb, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return fmt.Errorf("%s: %q is not a frequency; remove the file after checking CLOCK_REALTIME's frequency", savedFrequencyFile, b)
	}
	s, err := NewSystem()
	if err != nil {
		return err
	}
	if err := s.AdjustFrequency(ppb); err != nil {
		return fmt.Errorf("restoring CLOCK_REALTIME's frequency %f ppb that a killed run left in %s: %w", ppb, savedFrequencyFile, err)
	}
	fmt.Fprintf(os.Stderr, "phc tests: restored CLOCK_REALTIME's frequency to %f ppb, left changed by a killed run\n", ppb)
	return os.Remove(savedFrequencyFile)
}
