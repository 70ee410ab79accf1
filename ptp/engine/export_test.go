package engine

// What the external tests (package engine_test, which run the engine on
// internal/simnet) need of the internal helpers and of the engine's
// internals.

var (
	CID          = cid
	GMConfig     = gmConfig
	ClientConfig = clientConfig
	FastPort     = fastPort
	LinkPort     = linkPort
	TextLines    = textLines
	LogLines     = logLines
	LogInterval  = logInterval
)

// SetMaxUnicastClients sets the bound on a port's unicast clients and
// returns a function that restores it.
func SetMaxUnicastClients(n int) func() {
	old := maxUnicastClients
	maxUnicastClients = n
	return func() { maxUnicastClients = old }
}

// SetUnicastSlice sets how many clients one Tick serves and returns a
// function that restores it.
func SetUnicastSlice(n int32) func() {
	old := ucSlice
	ucSlice = n
	return func() { ucSlice = old }
}

// TestPI is the tests' PI servo.
type TestPI = testPI

// NewTestPI returns a TestPI that steps on offsets beyond stepLimit.
func NewTestPI(stepLimit int64) *TestPI { return &testPI{stepLimit: stepLimit} }

// Interval is the sync interval the servo was told, s.
func (s *testPI) Interval() float64 { return s.interval }

// SeqSync is the sequenceId of the port's next Sync.
func (p *Port) SeqSync() uint16 { return p.seqSync }

// SendDelayReq sends a Delay_Req now and returns its sequenceId.
func (p *Port) SendDelayReq() uint16 { p.sendDelayReq(); return p.delayReq.seq }

// StepsRemoved is the clock's stepsRemoved.
func (c *Clock) StepsRemoved() uint16 { return c.stepsRemoved }
