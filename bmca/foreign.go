package bmca

import (
	"time"

	"github.com/roko-network/roko-ptpd/ptp"
)

// Foreign master qualification constants (IEEE 1588-2019 9.3.2.4.4, 9.5.3).
const (
	// ForeignMasterThreshold is how many Announce messages a sender must
	// have within the window to be qualified.
	ForeignMasterThreshold = 2
	// ForeignMasterTimeWindow is the window, in announce intervals of the
	// sender (its logMessageInterval).
	ForeignMasterTimeWindow = 4
)

// DefaultMaxForeignMasters bounds the records one port keeps. A real
// network has a handful of masters on a segment; the bound is what keeps an
// Announce storm from forged identities from growing memory.
const DefaultMaxForeignMasters = 16

// foreignMaster is one sender's record: its latest Announce and the receipt
// times of the Announce messages that count towards qualification.
type foreignMaster struct {
	sender   ptp.PortIdentity
	latest   Dataset
	header   announceInfo
	times    [ForeignMasterThreshold]time.Duration // receipt times, newest first
	n        int                                   // how many of times are valid
	lastSeen time.Duration
}

// announceInfo is what the engine needs from the best master's latest
// Announce besides its data set.
type announceInfo struct {
	logMessageInterval int8
	announce           ptp.Announce
}

// ForeignMasters is a port's foreign master data set (IEEE 1588-2019
// 9.3.2.5): the senders of Announce messages it has heard, qualified once
// ForeignMasterThreshold of their messages fall within
// ForeignMasterTimeWindow announce intervals. As in linuxptp (and 9.5.3 b),
// a sender's first Announce only creates its record; it does not count.
//
// Memory is bounded by Max records. When a new sender arrives at a full
// table, the record heard from least recently among the unqualified ones is
// replaced; qualified records are never displaced by strangers, so an
// Announce storm from forged identities cannot push out the real master.
// New senders refused because every record is qualified are counted in
// Dropped.
type ForeignMasters struct {
	// Receiver is the identity of the port the table belongs to.
	Receiver ptp.PortIdentity
	// LocalPriority is the G.8275.x localPriority of the port.
	LocalPriority uint8
	// Max bounds the number of records; 0 means DefaultMaxForeignMasters.
	Max int
	// Dropped counts Announce messages from new senders that found no room.
	Dropped uint64
	// Evicted counts unqualified records replaced by new senders.
	Evicted uint64

	records []foreignMaster
}

func (f *ForeignMasters) max() int {
	if f.Max > 0 {
		return f.Max
	}
	return DefaultMaxForeignMasters
}

// window returns the qualification window for a sender's
// logMessageInterval: four of its announce intervals, as linuxptp computes
// it, with out-of-range intervals clamped rather than overflowing.
func window(logMessageInterval int8) time.Duration {
	l := int(logMessageInterval)
	switch {
	case l <= -31:
		return 0
	case l >= 31:
		return 1<<63 - 1
	case l < 0:
		return ForeignMasterTimeWindow * time.Second >> uint(-l)
	}
	return ForeignMasterTimeWindow * time.Second << uint(l)
}

// Add records an Announce received at now (a monotonic time the caller
// keeps). It reports whether the port's view changed in a way the state
// decision must hear about: the sender just became qualified, or a
// qualified sender's data set changed.
func (f *ForeignMasters) Add(a *ptp.Announce, now time.Duration) bool {
	ds := FromAnnounce(a, f.Receiver, f.LocalPriority)
	i := f.find(a.SourcePortIdentity)
	if i < 0 {
		f.insert(foreignMaster{sender: a.SourcePortIdentity, latest: ds,
			header: announceInfo{logMessageInterval: a.LogMessageInterval, announce: *a}, lastSeen: now})
		return false
	}
	r := &f.records[i]
	f.pruneRecord(r, now)
	wasQualified := r.n >= ForeignMasterThreshold
	changed := r.latest != ds
	copy(r.times[1:], r.times[:len(r.times)-1])
	r.times[0] = now
	if r.n < len(r.times) {
		r.n++
	}
	r.latest, r.lastSeen = ds, now
	r.header = announceInfo{logMessageInterval: a.LogMessageInterval, announce: *a}
	r.header.announce.TLVs = ptp.TLVs{} // the record keeps no TLV storage
	qualified := r.n >= ForeignMasterThreshold
	return qualified && (!wasQualified || changed)
}

func (f *ForeignMasters) find(sender ptp.PortIdentity) int {
	for i := range f.records {
		if f.records[i].sender == sender {
			return i
		}
	}
	return -1
}

func (f *ForeignMasters) insert(r foreignMaster) {
	r.header.announce.TLVs = ptp.TLVs{}
	if len(f.records) < f.max() {
		f.records = append(f.records, r)
		return
	}
	victim := -1
	for i := range f.records {
		if f.records[i].n >= ForeignMasterThreshold {
			continue
		}
		if victim < 0 || f.records[i].lastSeen < f.records[victim].lastSeen {
			victim = i
		}
	}
	if victim < 0 {
		f.Dropped++
		return
	}
	f.Evicted++
	f.records[victim] = r
}

// pruneRecord forgets receipt times older than the sender's window.
func (f *ForeignMasters) pruneRecord(r *foreignMaster, now time.Duration) {
	w := window(r.header.logMessageInterval)
	for r.n > 0 && now-r.times[r.n-1] >= w {
		r.n--
	}
}

// Prune forgets receipt times that fell out of their window and removes
// records that have nothing left and have not been heard from for a window.
func (f *ForeignMasters) Prune(now time.Duration) {
	kept := f.records[:0]
	for i := range f.records {
		r := f.records[i]
		f.pruneRecord(&r, now)
		if r.n == 0 && now-r.lastSeen >= window(r.header.logMessageInterval) {
			continue
		}
		kept = append(kept, r)
	}
	clear(f.records[len(kept):])
	f.records = kept
}

// Known reports whether sender has a record.
func (f *ForeignMasters) Known(sender ptp.PortIdentity) bool { return f.find(sender) >= 0 }

// Forget drops sender's counted messages, so that it must qualify again:
// what a port does to the master whose Announce messages stopped.
func (f *ForeignMasters) Forget(sender ptp.PortIdentity) {
	if i := f.find(sender); i >= 0 {
		f.records[i].n = 0
	}
}

// Len returns the number of records.
func (f *ForeignMasters) Len() int { return len(f.records) }

// Qualified returns the data sets of the qualified senders at now.
func (f *ForeignMasters) Qualified(now time.Duration) []Dataset {
	var out []Dataset
	for i := range f.records {
		r := &f.records[i]
		f.pruneRecord(r, now)
		if r.n >= ForeignMasterThreshold {
			out = append(out, r.latest)
		}
	}
	return out
}

// Best returns Erbest, the best qualified data set of the port at now
// under cmp, and the latest Announce it came from (without TLVs).
func (f *ForeignMasters) Best(now time.Duration, cmp Comparison) (Dataset, *ptp.Announce, bool) {
	best := -1
	for i := range f.records {
		r := &f.records[i]
		f.pruneRecord(r, now)
		if r.n < ForeignMasterThreshold {
			continue
		}
		if best < 0 || cmp(&r.latest, &f.records[best].latest).AWins() {
			best = i
		}
	}
	if best < 0 {
		return Dataset{}, nil, false
	}
	return f.records[best].latest, &f.records[best].header.announce, true
}

// Clear forgets every record, as a port does when it leaves a state in
// which it listens to Announce messages.
func (f *ForeignMasters) Clear() {
	clear(f.records)
	f.records = f.records[:0]
}
