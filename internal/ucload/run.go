package ucload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// RunConfig is a load on real sockets and how it is measured.
type RunConfig struct {
	Config
	// Master is the grandmaster's address.
	Master netip.Addr
	// Prefix is the block the clients' addresses come from
	// (DefaultPrefix when not valid).
	Prefix netip.Prefix
	// Negotiate bounds the wait for every client's grants and first Sync
	// (after the ramp); the load goes on with those it has.
	Negotiate time.Duration
	// Warmup is how long Delay_Req run before the window; Measure is the
	// window; Grace is how long the window's last answers are waited for.
	Warmup, Measure, Grace time.Duration
	// PID is the grandmaster's process, whose CPU time and memory are read
	// at the window's ends; 0: none.
	PID int
	// OnWindow, when set, is called as the window opens (true) and as it
	// closes (false), so that a caller can sample its own counters over
	// the same window.
	OnWindow func(open bool)
}

// Result is what a run measured.
type Result struct {
	Clients int
	Rate    float64       // Delay_Req (and Sync) per second per client
	Window  time.Duration // the measurement window as it ran
	// Negotiated is how long until every client held its grants and had
	// a Sync (the whole Negotiate bound when some never did).
	Negotiated time.Duration
	// Held is how many clients held all three grants when the window
	// closed.
	Held   int
	Counts Counts
	// P50, P99 and Max are the answer latencies of the window's
	// Delay_Req.
	P50, P99, Max time.Duration
	// GMCPU is the grandmaster's CPU time in the window; GMRSS and GMHWM
	// its resident and peak resident memory at its end, KiB.
	GMCPU        time.Duration
	GMRSS, GMHWM int64
	// SelfCPU is the load generator's own CPU time in the window.
	SelfCPU time.Duration
	// RxDropped is how many datagrams the load's sockets dropped in the
	// window (a full receive buffer: the generator fell behind, not the
	// grandmaster); SendFailed how many of its sends failed.
	RxDropped, SendFailed uint64
	// TxStamped is how many Delay_Req latencies start at a kernel
	// transmit timestamp (the others at the time they were handed over).
	TxStamped uint64
}

// AnswersPerCPUSecond is the Delay_Resp received in the window per
// second of the grandmaster's CPU time.
func (r *Result) AnswersPerCPUSecond() float64 {
	if r.GMCPU <= 0 {
		return 0
	}
	return float64(r.Counts.Answers) / r.GMCPU.Seconds()
}

// CPUShare is the grandmaster's CPU time over the window, as a fraction
// of one core.
func (r *Result) CPUShare() float64 {
	if r.Window <= 0 {
		return 0
	}
	return r.GMCPU.Seconds() / r.Window.Seconds()
}

// runner ties a Load to the sockets.
type runner struct {
	load      *Load
	addrs     Addresses
	ev, gen   *txBatch
	evFd      int
	genFd     int
	rx        rxBatch
	ctl       control
	keys      [1 << 16]txKey // Delay_Req by OPT_ID key, modulo 2^16
	nextKey   uint32
	stamped   uint64
	sendFail  uint64
	drops     [2]uint32
	sentEvent func(who uint32, seq uint16)
}

type txKey struct {
	who uint32
	seq uint16
}

// General implements Sender.
func (r *runner) General(i int, msg []byte) {
	if r.gen.add(r.addrs.Addr(i), uint32(i), 0, msg) {
		r.sendFail += uint64(r.gen.send(nil))
	}
}

// Event implements Sender.
func (r *runner) Event(i int, seq uint16, msg []byte) {
	if r.ev.add(r.addrs.Addr(i), uint32(i), seq, msg) {
		r.sendFail += uint64(r.ev.send(r.sentEvent))
	}
}

func (r *runner) flush() {
	r.sendFail += uint64(r.gen.send(nil))
	r.sendFail += uint64(r.ev.send(r.sentEvent))
}

// Run runs cfg's load from the sockets of the calling process's network
// namespace until it is measured or ctx ends. progress, when not nil,
// gets a line at each phase.
func Run(ctx context.Context, cfg RunConfig, progress io.Writer) (*Result, error) {
	if !cfg.Prefix.IsValid() {
		cfg.Prefix = DefaultPrefix
	}
	if !cfg.Master.Is4() {
		return nil, fmt.Errorf("ucload: grandmaster %s is not an IPv4 address", cfg.Master)
	}
	addrs, err := NewAddresses(cfg.Prefix, cfg.Clients)
	if err != nil {
		return nil, fmt.Errorf("ucload: %w", err)
	}
	load, err := New(cfg.Config)
	if err != nil {
		return nil, err
	}
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
		}
	}
	r := &runner{load: load, addrs: addrs}
	if r.evFd, err = openSocket(319, true); err != nil {
		return nil, err
	}
	defer unix.Close(r.evFd)
	if r.genFd, err = openSocket(320, false); err != nil {
		return nil, err
	}
	defer unix.Close(r.genFd)
	r.ev = newTxBatch(r.evFd, cfg.Master.As4(), 319)
	r.gen = newTxBatch(r.genFd, cfg.Master.As4(), 320)
	r.sentEvent = func(who uint32, seq uint16) {
		r.keys[uint16(r.nextKey)] = txKey{who, seq}
		r.nextKey++
	}

	res := &Result{Clients: cfg.Clients, Rate: float64(time.Second) / float64(logPeriod(cfg.LogSyncInterval))}
	const (
		negotiating = iota
		warming
		measuring
		grace
	)
	phase := negotiating
	mono := monotonic()
	t0 := mono.now()
	load.Start(t0)
	say("negotiating: %d clients over %v", cfg.Clients, cfg.Ramp)
	deadline := t0 + int64(cfg.Ramp) + int64(cfg.Negotiate)
	nextHeld := t0
	var winStart int64
	var cpu0, self0 time.Duration
	var drops0 [2]uint32
	pfd := [2]unix.PollFd{{Fd: int32(r.evFd), Events: unix.POLLIN}, {Fd: int32(r.genFd), Events: unix.POLLIN}}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		now := mono.now()
		switch phase {
		case negotiating:
			if now >= nextHeld {
				nextHeld = now + int64(100*time.Millisecond)
				if ready := load.Ready(now); ready == cfg.Clients || now >= deadline {
					res.Negotiated = time.Duration(now - t0)
					say("%d of %d clients granted and synchronised after %v; Delay_Req at %g Hz", ready, cfg.Clients, res.Negotiated.Round(time.Millisecond), res.Rate)
					load.StartDelayReq(now)
					phase, deadline = warming, now+int64(cfg.Warmup)
				}
			}
		case warming:
			if now >= deadline {
				if cpu0, self0, err = sampleCPU(cfg.PID); err != nil {
					return nil, err
				}
				drops0 = r.drops
				winStart = now
				if cfg.OnWindow != nil {
					cfg.OnWindow(true)
				}
				load.SetMeasuring(true)
				phase, deadline = measuring, now+int64(cfg.Measure)
				say("measuring for %v", cfg.Measure)
			}
		case measuring:
			if now >= deadline {
				load.SetMeasuring(false)
				if cfg.OnWindow != nil {
					cfg.OnWindow(false)
				}
				cpu1, self1, err := sampleCPU(cfg.PID)
				if err != nil {
					return nil, err
				}
				res.Window = time.Duration(now - winStart)
				res.GMCPU, res.SelfCPU = cpu1-cpu0, self1-self0
				if cfg.PID != 0 {
					if res.GMRSS, res.GMHWM, err = ProcMemory(cfg.PID); err != nil {
						return nil, err
					}
				}
				res.Held = load.Held(now)
				res.RxDropped = uint64(r.drops[0]-drops0[0]) + uint64(r.drops[1]-drops0[1])
				phase, deadline = grace, now+int64(cfg.Grace)
			}
		case grace:
			if now >= deadline {
				load.Finish(res.Window)
				res.Counts = load.Counts
				res.P50, res.P99, res.Max = load.Latency.Quantile(0.5), load.Latency.Quantile(0.99), load.Latency.Max()
				res.SendFailed, res.TxStamped = r.sendFail, r.stamped
				return res, nil
			}
		}
		load.Step(now, realtime(), r)
		r.flush()
		if err := r.drain(now); err != nil {
			return nil, err
		}
		wait := min(load.NextDue(mono.now())-mono.now(), deadline-now, int64(5*time.Millisecond))
		if wait > 0 {
			ts := unix.NsecToTimespec(wait)
			if _, err := unix.Ppoll(pfd[:], &ts, nil); err != nil && !errors.Is(err, unix.EINTR) {
				return nil, fmt.Errorf("ucload: ppoll: %w", err)
			}
		}
	}
}

// drain reads everything waiting: transmit timestamps first (a
// Delay_Req's is queued before its answer can come), then both sockets.
func (r *runner) drain(now int64) error {
	for {
		n, err := r.rx.recv(r.evFd, unix.MSG_ERRQUEUE)
		if err != nil {
			return fmt.Errorf("ucload: error queue: %w", err)
		}
		for i := range n {
			_, oob, _ := r.rx.msg(i)
			parseControl(oob, &r.ctl)
			if r.ctl.hasKey && r.ctl.hasTS {
				k := r.keys[uint16(r.ctl.key)]
				r.load.DelayReqStamped(int(k.who), k.seq, r.ctl.ts)
				r.stamped++
			}
		}
		if n < batchLen {
			break
		}
	}
	for s, fd := range [2]int{r.evFd, r.genFd} {
		for {
			n, err := r.rx.recv(fd, 0)
			if err != nil {
				return fmt.Errorf("ucload: receive: %w", err)
			}
			for i := range n {
				msg, oob, trunc := r.rx.msg(i)
				parseControl(oob, &r.ctl)
				if r.ctl.hasDrops {
					r.drops[s] = r.ctl.drops
				}
				if trunc || !r.ctl.hasDst {
					r.load.Counts.Malformed++
					continue
				}
				c, ok := r.addrs.Index(r.ctl.dst)
				if !ok {
					continue
				}
				rx := r.ctl.ts
				if !r.ctl.hasTS {
					rx = realtime()
				}
				r.load.Receive(c, msg, rx, now)
			}
			if n < batchLen {
				break
			}
		}
	}
	return nil
}

// sampleCPU reads the grandmaster's CPU time (0 without one) and ours.
func sampleCPU(pid int) (gm, self time.Duration, err error) {
	if pid != 0 {
		if gm, err = ProcCPU(pid); err != nil {
			return 0, 0, err
		}
	}
	self, err = ProcCPU(os.Getpid())
	return gm, self, err
}

// monotonicClock reads CLOCK_MONOTONIC through the runtime.
type monotonicClock struct{ epoch time.Time }

func monotonic() monotonicClock { return monotonicClock{time.Now()} }

func (m monotonicClock) now() int64 { return int64(time.Since(m.epoch)) + 1 }

func realtime() int64 { return time.Now().UnixNano() }
