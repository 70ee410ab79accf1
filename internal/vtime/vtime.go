// Package vtime is a virtual clock with an event queue: functions scheduled
// at virtual times run in order of time, and of scheduling among equal
// times, while Now reads the time of the one running. The pcap replay and
// the simulated network run the engine on it, deterministically and
// faster than real time.
//
// It must never read the wall clock, sleep or start a goroutine, and it
// imports nothing of this module's: time here is only what the caller
// schedules.
package vtime

// Queue is a virtual clock and the events scheduled on it. The zero Queue
// is empty at time 0. It is not safe for concurrent use.
type Queue struct {
	now  int64
	seq  uint64
	heap []event
}

// event is a function to run at a time; seq orders events of equal time
// by when they were scheduled.
type event struct {
	at  int64
	seq uint64
	f   func()
}

func (e *event) before(o *event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

// Now is the virtual time: that of the event running, or the time the
// queue was last advanced to.
func (q *Queue) Now() int64 { return q.now }

// Len is the number of events waiting.
func (q *Queue) Len() int { return len(q.heap) }

// At schedules f to run at time t. An event scheduled in the past (t
// before Now) runs next, at Now: time never goes back.
func (q *Queue) At(t int64, f func()) {
	if t < q.now {
		t = q.now
	}
	q.seq++
	q.heap = append(q.heap, event{at: t, seq: q.seq, f: f})
	q.up(len(q.heap) - 1)
}

// Next is the time of the earliest waiting event; ok is false when none
// waits.
func (q *Queue) Next() (t int64, ok bool) {
	if len(q.heap) == 0 {
		return 0, false
	}
	return q.heap[0].at, true
}

// Advance moves Now forward to t without running anything; it does
// nothing if t is not after Now. The caller must not skip an event:
// t is at most the Next event's time.
func (q *Queue) Advance(t int64) {
	if t > q.now {
		q.now = t
	}
}

// RunNext runs the earliest waiting event at its time and reports
// whether there was one.
func (q *Queue) RunNext() bool {
	if len(q.heap) == 0 {
		return false
	}
	e := q.heap[0]
	last := len(q.heap) - 1
	q.heap[0] = q.heap[last]
	q.heap[last] = event{} // let f be collected
	q.heap = q.heap[:last]
	if last > 0 {
		q.down(0)
	}
	q.Advance(e.at)
	e.f()
	return true
}

// Run runs every event due by until, including those the events
// schedule, then advances Now to until.
func (q *Queue) Run(until int64) {
	for len(q.heap) > 0 && q.heap[0].at <= until {
		q.RunNext()
	}
	q.Advance(until)
}

func (q *Queue) up(i int) {
	h := q.heap
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].before(&h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *Queue) down(i int) {
	h := q.heap
	n := len(h)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && h[r].before(&h[c]) {
			c = r
		}
		if !h[c].before(&h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
