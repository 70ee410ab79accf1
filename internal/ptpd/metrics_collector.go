package ptpd

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/ptp/timesource"
)

// The metric families. Units are in the names, in base units as
// Prometheus wants them: seconds, and a ratio for a frequency adjustment
// (ppb × 1e-9, as node_exporter's node_timex_frequency_adjustment_ratio).
var (
	portLabels = []string{"port", "interface"}

	descClockInfo = prometheus.NewDesc("roko_ptp_clock_info",
		"The local clock: its clockIdentity, and whether it is slave-only (clientOnly); always 1.",
		[]string{"clock_identity", "slave_only"}, nil)
	descSnapshotAge = prometheus.NewDesc("roko_ptp_metrics_snapshot_age_seconds",
		"How long ago the event loop published the values in this scrape; a loop that stops shows here.", nil, nil)
	descPortState = prometheus.NewDesc("roko_ptp_port_state",
		"The port's state: 1 for the current one, 0 for the others (IEEE 1588-2019 portState, linuxptp's names).",
		[]string{"port", "interface", "state"}, nil)
	descLinkUp = prometheus.NewDesc("roko_ptp_port_link_up",
		"Whether the port's interface has its link (1) or the driver reported it down (0).", portLabels, nil)
	descOffset = prometheus.NewDesc("roko_ptp_offset_from_master_seconds",
		"currentDS.offsetFromMaster: the last measured offset of the local clock from its master.", nil, nil)
	descPathDelay = prometheus.NewDesc("roko_ptp_mean_path_delay_seconds",
		"currentDS.meanPathDelay: the mean path delay to the master.", nil, nil)
	descFreq = prometheus.NewDesc("roko_ptp_frequency_adjustment_ratio",
		"The frequency adjustment the servo last set on the clock (ppb × 1e-9; positive runs faster).", nil, nil)
	descSteps = prometheus.NewDesc("roko_ptp_clock_steps_total",
		"Steps of the clock the servo asked for.", nil, nil)
	descServo = prometheus.NewDesc("roko_ptp_servo_state",
		"The servo's state: 0 UNLOCKED (s0), 1 JUMP (s1), 2 LOCKED (s2), 3 LOCKED_STABLE (s3).", nil, nil)
	descParent = prometheus.NewDesc("roko_ptp_parent_info",
		"parentDS: the parent port and the grandmaster the clock follows (its own identity when it is the grandmaster); always 1.",
		[]string{"parent_port_identity", "grandmaster_identity"}, nil)
	descGMClass = prometheus.NewDesc("roko_ptp_grandmaster_clock_class",
		"parentDS.grandmasterClockQuality.clockClass.", nil, nil)
	descGMAccuracy = prometheus.NewDesc("roko_ptp_grandmaster_clock_accuracy",
		"parentDS.grandmasterClockQuality.clockAccuracy, the enumeration's value (0x21 = 33: within 100 ns; 0xFE = 254: unknown).", nil, nil)
	descGMVariance = prometheus.NewDesc("roko_ptp_grandmaster_offset_scaled_log_variance",
		"parentDS.grandmasterClockQuality.offsetScaledLogVariance.", nil, nil)
	descStepsRemoved = prometheus.NewDesc("roko_ptp_steps_removed",
		"currentDS.stepsRemoved: boundary clocks between this clock and its grandmaster.", nil, nil)
	descGMPresent = prometheus.NewDesc("roko_ptp_grandmaster_present",
		"Whether the clock follows a remote grandmaster (1) or is its own (0), as TIME_STATUS_NP's gmPresent.", nil, nil)
	descGMChanges = prometheus.NewDesc("roko_ptp_grandmaster_changes_total",
		"Changes of grandmaster since start, not counting the first remote grandmaster found.", nil, nil)
	descRx = prometheus.NewDesc("roko_ptp_messages_received_total",
		"Messages a port accepted, by messageType (PORT_STATS_NP).", []string{"port", "interface", "type"}, nil)
	descTx = prometheus.NewDesc("roko_ptp_messages_sent_total",
		"Messages a port sent, by messageType (PORT_STATS_NP).", []string{"port", "interface", "type"}, nil)
	descPortDropped = prometheus.NewDesc("roko_ptp_messages_dropped_total",
		"Messages a port received and set aside, by reason.", []string{"port", "interface", "reason"}, nil)
	descClockDropped = prometheus.NewDesc("roko_ptp_clock_messages_dropped_total",
		"Messages dropped before any port saw them, by reason.", []string{"reason"}, nil)
	descSyncLost = prometheus.NewDesc("roko_ptp_sync_lost_total",
		"Syncs lost: sequenceIds skipped in the master's Sync series (packet loss).", portLabels, nil)
	descSyncRestarts = prometheus.NewDesc("roko_ptp_sync_sequence_restarts_total",
		"Jumps in the master's Sync sequenceIds too large to be loss (the master restarted).", portLabels, nil)
	descTxTimeouts = prometheus.NewDesc("roko_ptp_tx_timestamp_timeouts_total",
		"Event messages whose transmit timestamp never came (tx_timestamp_timeout); each faults its port.", nil, nil)
	descAnnounceTimeouts = prometheus.NewDesc("roko_ptp_announce_receipt_timeouts_total",
		"Announce receipt timeouts: the port heard no Announce from its master for announceReceiptTimeout intervals.", portLabels, nil)
	descFaults = prometheus.NewDesc("roko_ptp_port_faults_total",
		"Times the port went FAULTY.", portLabels, nil)
	descAuthVerified = prometheus.NewDesc("roko_ptp_auth_verified_total",
		"Messages whose AUTHENTICATION TLV passed (spp): a port's, or the management socket's (port 0, the socket's path).", portLabels, nil)
	descAuthFailures = prometheus.NewDesc("roko_ptp_auth_failures_total",
		"Messages dropped for failing authentication (spp), by reason: a port's, or the management socket's (port 0, the socket's path).",
		[]string{"port", "interface", "reason"}, nil)
	// descCPU is the one figure of client_golang's process collector that
	// a time daemon's operators watch, read with one getrusage instead of
	// the collector's several /proc files at every scrape.
	descCPU = prometheus.NewDesc("process_cpu_seconds_total",
		"Total user and system CPU time spent in seconds.", nil, nil)

	descTSState = prometheus.NewDesc("roko_ptp_timesource_state",
		"The grandmaster's time source state: 1 for the current one, 0 for the others.", []string{"state"}, nil)
	descTSStateDuration = prometheus.NewDesc("roko_ptp_timesource_state_duration_seconds",
		"How long the time source has been in its state.", nil, nil)
	descTSOffset = prometheus.NewDesc("roko_ptp_timesource_offset_seconds",
		"The last pulse's offset of the clock from the time source.", nil, nil)
	descTSRMS = prometheus.NewDesc("roko_ptp_timesource_offset_rms_seconds",
		"The RMS of the last applied pulse offsets.", nil, nil)
	descTSFreq = prometheus.NewDesc("roko_ptp_timesource_frequency_adjustment_ratio",
		"The frequency the time source's servo last set (ppb × 1e-9).", nil, nil)
	descTSFix = prometheus.NewDesc("roko_ptp_timesource_fix",
		"Whether the last time-of-day report had a fix.", nil, nil)
	descTSPulses = prometheus.NewDesc("roko_ptp_timesource_pulses_total",
		"Pulses seen, and those applied to the clock.", []string{"result"}, nil)
	descTSPulseErrors = prometheus.NewDesc("roko_ptp_timesource_pulse_errors_total",
		"Pulses missed or refused, by reason.", []string{"reason"}, nil)
	descTSReports = prometheus.NewDesc("roko_ptp_timesource_reports_total",
		"Time-of-day reports received.", nil, nil)
	descTSReportErrors = prometheus.NewDesc("roko_ptp_timesource_report_errors_total",
		"Time-of-day reports not used, by reason.", []string{"reason"}, nil)
	descTSEvents = prometheus.NewDesc("roko_ptp_timesource_events_total",
		"The time source's steps of the clock, locks and losses.", []string{"event"}, nil)

	allDescs = []*prometheus.Desc{descClockInfo, descSnapshotAge, descPortState, descLinkUp, descOffset, descPathDelay,
		descFreq, descSteps, descServo, descParent, descGMClass, descGMAccuracy, descGMVariance, descStepsRemoved,
		descGMPresent, descGMChanges, descRx, descTx, descPortDropped, descClockDropped, descSyncLost, descSyncRestarts,
		descTxTimeouts, descAnnounceTimeouts, descFaults, descTSState, descTSStateDuration, descTSOffset, descTSRMS,
		descTSFreq, descTSFix, descTSPulses, descTSPulseErrors, descTSReports, descTSReportErrors, descTSEvents, descAuthVerified, descAuthFailures, descCPU}
)

// portStates are the states roko_ptp_port_state enumerates.
var portStates = []ptp.PortState{ptp.PortStateInitializing, ptp.PortStateFaulty, ptp.PortStateDisabled,
	ptp.PortStateListening, ptp.PortStatePreMaster, ptp.PortStateMaster, ptp.PortStatePassive,
	ptp.PortStateUncalibrated, ptp.PortStateSlave}

// collector turns the loop's latest snapshot, and the time source's status,
// into metrics. It runs on the scraping goroutine and never waits for the
// event loop.
type collector struct {
	d *Daemon
	m *metrics
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descTxTimeouts, c.d.TxTimestampTimeouts())
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, cpu.Seconds())
	}
	c.collectTimeSource(gauge, counter)
	s := c.m.snap.Load()
	if s == nil {
		return // the loop has not run yet
	}
	gauge(descClockInfo, 1, s.clockID.String(), boolString(s.slaveOnly))
	gauge(descSnapshotAge, time.Since(s.at).Seconds())
	gauge(descOffset, float64(s.offset)*1e-9)
	gauge(descPathDelay, float64(s.pathDelay)*1e-9)
	gauge(descFreq, s.freq*1e-9)
	counter(descSteps, s.steps)
	gauge(descServo, float64(s.servo))
	gauge(descParent, 1, s.parent.ParentPortIdentity.String(), s.parent.GrandmasterIdentity.String())
	q := s.parent.GrandmasterClockQuality
	gauge(descGMClass, float64(q.ClockClass))
	gauge(descGMAccuracy, float64(q.ClockAccuracy))
	gauge(descGMVariance, float64(q.OffsetScaledLogVariance))
	gauge(descStepsRemoved, float64(s.stepsRemoved))
	gauge(descGMPresent, boolFloat(s.gmPresent))
	counter(descGMChanges, s.gmChanges)
	for _, r := range []struct {
		reason string
		n      uint64
	}{
		{"malformed", s.clock.Malformed}, {"wrong_domain", s.clock.WrongDomain}, {"wrong_sdo_id", s.clock.WrongSdoID},
		{"looped", s.clock.Looped}, {"steps_removed_limit", s.clock.StepsRemovedLimit},
	} {
		counter(descClockDropped, r.n, r.reason)
	}
	for i := range s.ports {
		p := &s.ports[i]
		for _, st := range portStates {
			gauge(descPortState, boolFloat(p.state == st), p.number, p.name, st.String())
		}
		gauge(descLinkUp, boolFloat(p.linkUp), p.number, p.name)
		for t := ptp.MessageType(0); t < 16; t++ {
			if reportedTypes[t] {
				counter(descRx, p.stats.Rx[t], p.number, p.name, t.String())
				counter(descTx, p.stats.Tx[t], p.number, p.name, t.String())
			}
		}
		for _, r := range []struct {
			reason string
			n      uint64
		}{
			{"no_timestamp", p.noTimestamp}, {"duplicate_sync", p.seq.Duplicates},
			{"sync_mismatch", p.stats.SyncMismatch}, {"follow_up_timeout", p.stats.FollowUpTimeout},
			{"foreign_delay_resp", p.stats.ForeignDelayResp}, {"not_from_parent", p.stats.NotFromParent},
			{"rejected", p.stats.Rejected}, {"spike", p.stats.Spikes},
		} {
			counter(descPortDropped, r.n, p.number, p.name, r.reason)
		}
		counter(descSyncLost, p.seq.Lost, p.number, p.name)
		counter(descSyncRestarts, p.seq.Restarts, p.number, p.name)
		counter(descAnnounceTimeouts, p.stats.AnnounceTimeouts, p.number, p.name)
		counter(descFaults, p.faults, p.number, p.name)
		collectAuth(counter, &p.auth, p.number, p.name)
	}
	collectAuth(counter, &s.udsAuth, "0", s.udsPath)
}

// collectAuth reports one verifier's counts, when there is one: every
// reason, zeros included, so that a rate() starts from the first scrape.
func collectAuth(counter func(*prometheus.Desc, uint64, ...string), a *authSnapshot, port, name string) {
	if !a.on {
		return
	}
	counter(descAuthVerified, a.verified, port, name)
	for f := auth.FailMalformed; f < auth.NumFailures; f++ {
		counter(descAuthFailures, a.failures[f], port, name, f.String())
	}
}

// collectTimeSource reports the grandmaster's time source, when there is
// one, from the status its own goroutine keeps (under the source's lock,
// not the event loop's).
func (c *collector) collectTimeSource(gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	if c.d.gm == nil {
		return
	}
	st, inState, malformed := c.d.gm.snapshot()
	for _, s := range []timesource.State{timesource.FreeRun, timesource.Locked, timesource.Holdover} {
		gauge(descTSState, boolFloat(st.State == s), s.String())
	}
	gauge(descTSStateDuration, inState.Seconds())
	gauge(descTSOffset, float64(st.Offset)*1e-9)
	gauge(descTSRMS, st.RMS*1e-9)
	gauge(descTSFreq, st.Frequency*1e-9)
	gauge(descTSFix, boolFloat(st.Fix))
	n := st.Counters
	counter(descTSPulses, n.Pulses, "seen")
	counter(descTSPulses, n.PulsesApplied, "applied")
	counter(descTSPulseErrors, n.PulsesMissed, "missed")
	counter(descTSPulseErrors, n.PulsesOutOfWindow, "out_of_window")
	counter(descTSPulseErrors, n.PulsesWrongPhase, "wrong_phase")
	counter(descTSReports, n.Reports)
	counter(descTSReportErrors, n.NoFix, "no_fix")
	counter(descTSReportErrors, n.Unpaired, "unpaired")
	counter(descTSReportErrors, n.SecondMismatch, "second_mismatch")
	counter(descTSReportErrors, n.TimeJumps, "time_jump")
	counter(descTSReportErrors, malformed, "malformed")
	counter(descTSEvents, n.Steps, "step")
	counter(descTSEvents, n.Locks, "lock")
	counter(descTSEvents, n.Losses, "loss")
}

// reportedTypes marks the messageTypes the standard defines, which
// roko_ptp_messages_{received,sent}_total report.
var reportedTypes = [16]bool{
	ptp.MessageSync: true, ptp.MessageDelayReq: true, ptp.MessagePdelayReq: true, ptp.MessagePdelayResp: true,
	ptp.MessageFollowUp: true, ptp.MessageDelayResp: true, ptp.MessagePdelayRespFollowUp: true,
	ptp.MessageAnnounce: true, ptp.MessageSignaling: true, ptp.MessageManagement: true,
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
