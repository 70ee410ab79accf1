package main

import (
	"testing"

	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// TestMain holds the kernel's software receive timestamps on for the whole
// run, so that no test sees the first, unstamped messages of a machine
// that is only switching them on (testenv.HoldSoftwareTimestamps).
func TestMain(m *testing.M) { testenv.MainHoldingTimestamps(m) }
