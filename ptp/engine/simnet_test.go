package engine_test

import (
	"testing"

	"github.com/roko-network/roko-ptpd/internal/simnet"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/engine"
)

// The scenario tests run the engine on internal/simnet, through exported
// API and the few internals export_test.go exposes.

const ms = int64(1e6)
const sec = int64(1e9)

// newNetwork is a simulated network with the engine tests' noise seed.
func newNetwork(t testing.TB) *simnet.Network { return simnet.New(t, 1588) }

// parentGM returns the grandmaster a node currently follows.
func parentGM(nd *simnet.Node) ptp.ClockIdentity { return nd.Clock.ParentDS().GrandmasterIdentity }

func following(nd, gm *simnet.Node) bool {
	return nd.Clock.Port(0).State() == engine.Slave && parentGM(nd) == gm.Clock.Config().ClockIdentity
}
