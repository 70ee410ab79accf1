package ptpd

import (
	"time"

	"github.com/roko-network/roko-ptpd/internal/prom"
	"github.com/roko-network/roko-ptpd/ptp"
	"github.com/roko-network/roko-ptpd/ptp/auth"
	"github.com/roko-network/roko-ptpd/ptp/timesource"
)

// The metric families. Units are in the names, in base units as
// Prometheus wants them: seconds, and a ratio for a frequency adjustment
// (ppb × 1e-9, as node_exporter's node_timex_frequency_adjustment_ratio).
var (
	descClockInfo = prom.NewGauge("roko_ptp_clock_info",
		"The local clock: its clockIdentity, and whether it is slave-only (clientOnly); always 1.", "clock_identity", "slave_only")
	descSnapshotAge = prom.NewGauge("roko_ptp_metrics_snapshot_age_seconds",
		"How long ago the event loop published the values in this scrape; a loop that stops shows here.")
	descPortState = prom.NewGauge("roko_ptp_port_state",
		"The port's state: 1 for the current one, 0 for the others (IEEE 1588-2019 portState, linuxptp's names).", "port", "interface", "state")
	descLinkUp = prom.NewGauge("roko_ptp_port_link_up",
		"Whether the port's interface has its link (1) or the driver reported it down (0).", "port", "interface")
	descOffset = prom.NewGauge("roko_ptp_offset_from_master_seconds",
		"currentDS.offsetFromMaster: the last measured offset of the local clock from its master.")
	descPathDelay = prom.NewGauge("roko_ptp_mean_path_delay_seconds",
		"currentDS.meanPathDelay: the mean path delay to the master.")
	descFreq = prom.NewGauge("roko_ptp_frequency_adjustment_ratio",
		"The frequency adjustment the servo last set on the clock (ppb × 1e-9; positive runs faster).")
	descSteps = prom.NewCounter("roko_ptp_clock_steps_total",
		"Steps of the clock the servo asked for.")
	descServo = prom.NewGauge("roko_ptp_servo_state",
		"The servo's state: 0 UNLOCKED (s0), 1 JUMP (s1), 2 LOCKED (s2), 3 LOCKED_STABLE (s3).")
	descParent = prom.NewGauge("roko_ptp_parent_info",
		"parentDS: the parent port and the grandmaster the clock follows (its own identity when it is the grandmaster); always 1.", "parent_port_identity", "grandmaster_identity")
	descGMClass = prom.NewGauge("roko_ptp_grandmaster_clock_class",
		"parentDS.grandmasterClockQuality.clockClass.")
	descGMAccuracy = prom.NewGauge("roko_ptp_grandmaster_clock_accuracy",
		"parentDS.grandmasterClockQuality.clockAccuracy, the enumeration's value (0x21 = 33: within 100 ns; 0xFE = 254: unknown).")
	descGMVariance = prom.NewGauge("roko_ptp_grandmaster_offset_scaled_log_variance",
		"parentDS.grandmasterClockQuality.offsetScaledLogVariance.")
	descStepsRemoved = prom.NewGauge("roko_ptp_steps_removed",
		"currentDS.stepsRemoved: boundary clocks between this clock and its grandmaster.")
	descGMPresent = prom.NewGauge("roko_ptp_grandmaster_present",
		"Whether the clock follows a remote grandmaster (1) or is its own (0), as TIME_STATUS_NP's gmPresent.")
	descGMChanges = prom.NewCounter("roko_ptp_grandmaster_changes_total",
		"Changes of grandmaster since start, not counting the first remote grandmaster found.")
	descRx = prom.NewCounter("roko_ptp_messages_received_total",
		"Messages a port accepted, by messageType (PORT_STATS_NP).", "port", "interface", "type")
	descTx = prom.NewCounter("roko_ptp_messages_sent_total",
		"Messages a port sent, by messageType (PORT_STATS_NP).", "port", "interface", "type")
	descPortDropped = prom.NewCounter("roko_ptp_messages_dropped_total",
		"Messages a port received and set aside, by reason.", "port", "interface", "reason")
	descClockDropped = prom.NewCounter("roko_ptp_clock_messages_dropped_total",
		"Messages dropped before any port saw them, by reason.", "reason")
	descSyncLost = prom.NewCounter("roko_ptp_sync_lost_total",
		"Syncs lost: sequenceIds skipped in the master's Sync series (packet loss).", "port", "interface")
	descSyncRestarts = prom.NewCounter("roko_ptp_sync_sequence_restarts_total",
		"Jumps in the master's Sync sequenceIds too large to be loss (the master restarted).", "port", "interface")
	descTxTimeouts = prom.NewCounter("roko_ptp_tx_timestamp_timeouts_total",
		"Event messages whose transmit timestamp never came (tx_timestamp_timeout); each faults its port.")
	descAnnounceTimeouts = prom.NewCounter("roko_ptp_announce_receipt_timeouts_total",
		"Announce receipt timeouts: the port heard no Announce from its master for announceReceiptTimeout intervals.", "port", "interface")
	descFaults = prom.NewCounter("roko_ptp_port_faults_total",
		"Times the port went FAULTY.", "port", "interface")
	descTSState = prom.NewGauge("roko_ptp_timesource_state",
		"The grandmaster's time source state: 1 for the current one, 0 for the others.", "state")
	descTSStateDuration = prom.NewGauge("roko_ptp_timesource_state_duration_seconds",
		"How long the time source has been in its state.")
	descTSOffset = prom.NewGauge("roko_ptp_timesource_offset_seconds",
		"The last pulse's offset of the clock from the time source.")
	descTSRMS = prom.NewGauge("roko_ptp_timesource_offset_rms_seconds",
		"The RMS of the last applied pulse offsets.")
	descTSFreq = prom.NewGauge("roko_ptp_timesource_frequency_adjustment_ratio",
		"The frequency the time source's servo last set (ppb × 1e-9).")
	descTSFix = prom.NewGauge("roko_ptp_timesource_fix",
		"Whether the last time-of-day report had a fix.")
	descTSPulses = prom.NewCounter("roko_ptp_timesource_pulses_total",
		"Pulses seen, and those applied to the clock.", "result")
	descTSPulseErrors = prom.NewCounter("roko_ptp_timesource_pulse_errors_total",
		"Pulses missed or refused, by reason.", "reason")
	descTSReports = prom.NewCounter("roko_ptp_timesource_reports_total",
		"Time-of-day reports received.")
	descTSReportErrors = prom.NewCounter("roko_ptp_timesource_report_errors_total",
		"Time-of-day reports not used, by reason.", "reason")
	descTSEvents = prom.NewCounter("roko_ptp_timesource_events_total",
		"The time source's steps of the clock, locks and losses.", "event")

	descAuthVerified = prom.NewCounter("roko_ptp_auth_verified_total",
		"Messages whose AUTHENTICATION TLV passed (spp): a port's, or the management socket's (port 0, the socket's path).", "port", "interface")
	descAuthFailures = prom.NewCounter("roko_ptp_auth_failures_total",
		"Messages dropped for failing authentication (spp), by reason: a port's, or the management socket's (port 0, the socket's path).", "port", "interface", "reason")
	allDescs = []*prom.Desc{descClockInfo, descSnapshotAge, descPortState, descLinkUp, descOffset, descPathDelay,
		descFreq, descSteps, descServo, descParent, descGMClass, descGMAccuracy, descGMVariance, descStepsRemoved,
		descGMPresent, descGMChanges, descRx, descTx, descPortDropped, descClockDropped, descSyncLost, descSyncRestarts,
		descTxTimeouts, descAnnounceTimeouts, descFaults, descTSState, descTSStateDuration, descTSOffset, descTSRMS,
		descTSFreq, descTSFix, descTSPulses, descTSPulseErrors, descTSReports, descTSReportErrors, descTSEvents,
		descAuthVerified, descAuthFailures}
)

// portStates are the states roko_ptp_port_state enumerates.
var portStates = []ptp.PortState{ptp.PortStateInitializing, ptp.PortStateFaulty, ptp.PortStateDisabled,
	ptp.PortStateListening, ptp.PortStatePreMaster, ptp.PortStateMaster, ptp.PortStatePassive,
	ptp.PortStateUncalibrated, ptp.PortStateSlave}

// collect turns the loop's latest snapshot, and the time source's status,
// into a scrape's series. It runs on the scraping goroutine and never
// waits for the event loop. The label values it passes are the snapshot's
// own strings or constants, so that a scrape after the first formats
// none (prom.Sink).
func (d *Daemon) collect(s *prom.Sink) {
	m := d.met
	s.Counter(descTxTimeouts, d.TxTimestampTimeouts())
	prom.ProcessCPU(s)
	d.collectTimeSource(s)
	for _, f := range *m.extra.Load() {
		f(s)
	}
	snap := m.snap.Load()
	if snap == nil {
		return // the loop has not run yet
	}
	s.Gauge(descClockInfo, 1, snap.clockIDString, boolString(snap.slaveOnly))
	s.Gauge(descSnapshotAge, time.Since(snap.at).Seconds())
	s.Gauge(descOffset, float64(snap.offset)*1e-9)
	s.Gauge(descPathDelay, float64(snap.pathDelay)*1e-9)
	s.Gauge(descFreq, snap.freq*1e-9)
	s.Counter(descSteps, snap.steps)
	s.Gauge(descServo, float64(snap.servo))
	s.Gauge(descParent, 1, snap.parentString, snap.gmString)
	q := snap.parent.GrandmasterClockQuality
	s.Gauge(descGMClass, float64(q.ClockClass))
	s.Gauge(descGMAccuracy, float64(q.ClockAccuracy))
	s.Gauge(descGMVariance, float64(q.OffsetScaledLogVariance))
	s.Gauge(descStepsRemoved, float64(snap.stepsRemoved))
	s.Gauge(descGMPresent, boolFloat(snap.gmPresent))
	s.Counter(descGMChanges, snap.gmChanges)
	c := &snap.clock
	s.Counter(descClockDropped, c.Malformed, "malformed")
	s.Counter(descClockDropped, c.WrongDomain, "wrong_domain")
	s.Counter(descClockDropped, c.WrongSdoID, "wrong_sdo_id")
	s.Counter(descClockDropped, c.Looped, "looped")
	s.Counter(descClockDropped, c.StepsRemovedLimit, "steps_removed_limit")
	for i := range snap.ports {
		p := &snap.ports[i]
		for _, st := range portStates {
			s.Gauge(descPortState, boolFloat(p.state == st), p.number, p.name, st.String())
		}
		s.Gauge(descLinkUp, boolFloat(p.linkUp), p.number, p.name)
		for t := ptp.MessageType(0); t < 16; t++ {
			if reportedTypes[t] {
				s.Counter(descRx, p.stats.Rx[t], p.number, p.name, t.String())
				s.Counter(descTx, p.stats.Tx[t], p.number, p.name, t.String())
			}
		}
		s.Counter(descPortDropped, p.noTimestamp, p.number, p.name, "no_timestamp")
		s.Counter(descPortDropped, p.seq.Duplicates, p.number, p.name, "duplicate_sync")
		s.Counter(descPortDropped, p.stats.SyncMismatch, p.number, p.name, "sync_mismatch")
		s.Counter(descPortDropped, p.stats.FollowUpTimeout, p.number, p.name, "follow_up_timeout")
		s.Counter(descPortDropped, p.stats.ForeignDelayResp, p.number, p.name, "foreign_delay_resp")
		s.Counter(descPortDropped, p.stats.NotFromParent, p.number, p.name, "not_from_parent")
		s.Counter(descPortDropped, p.stats.Rejected, p.number, p.name, "rejected")
		s.Counter(descPortDropped, p.stats.Spikes, p.number, p.name, "spike")
		s.Counter(descSyncLost, p.seq.Lost, p.number, p.name)
		s.Counter(descSyncRestarts, p.seq.Restarts, p.number, p.name)
		s.Counter(descAnnounceTimeouts, p.stats.AnnounceTimeouts, p.number, p.name)
		s.Counter(descFaults, p.faults, p.number, p.name)
		collectAuth(s, &p.auth, p.number, p.name)
	}
	collectAuth(s, &snap.udsAuth, "0", snap.udsPath)
}

// collectAuth reports one verifier's counts, when there is one: every
// reason, zeros included, so that a rate() starts from the first scrape.
func collectAuth(s *prom.Sink, a *authSnapshot, port, name string) {
	if !a.on {
		return
	}
	s.Counter(descAuthVerified, a.verified, port, name)
	for f := auth.FailMalformed; f < auth.NumFailures; f++ {
		s.Counter(descAuthFailures, a.failures[f], port, name, f.String())
	}
}

// collectTimeSource reports the grandmaster's time source, when there is
// one, from the status its own goroutine keeps (under the source's lock,
// not the event loop's).
func (d *Daemon) collectTimeSource(s *prom.Sink) {
	if d.gm == nil {
		return
	}
	st, inState, malformed := d.gm.snapshot()
	for _, ts := range []timesource.State{timesource.FreeRun, timesource.Locked, timesource.Holdover} {
		s.Gauge(descTSState, boolFloat(st.State == ts), ts.String())
	}
	s.Gauge(descTSStateDuration, inState.Seconds())
	s.Gauge(descTSOffset, float64(st.Offset)*1e-9)
	s.Gauge(descTSRMS, st.RMS*1e-9)
	s.Gauge(descTSFreq, st.Frequency*1e-9)
	s.Gauge(descTSFix, boolFloat(st.Fix))
	n := st.Counters
	s.Counter(descTSPulses, n.Pulses, "seen")
	s.Counter(descTSPulses, n.PulsesApplied, "applied")
	s.Counter(descTSPulseErrors, n.PulsesMissed, "missed")
	s.Counter(descTSPulseErrors, n.PulsesOutOfWindow, "out_of_window")
	s.Counter(descTSPulseErrors, n.PulsesWrongPhase, "wrong_phase")
	s.Counter(descTSReports, n.Reports)
	s.Counter(descTSReportErrors, n.NoFix, "no_fix")
	s.Counter(descTSReportErrors, n.Unpaired, "unpaired")
	s.Counter(descTSReportErrors, n.SecondMismatch, "second_mismatch")
	s.Counter(descTSReportErrors, n.TimeJumps, "time_jump")
	s.Counter(descTSReportErrors, malformed, "malformed")
	s.Counter(descTSEvents, n.Steps, "step")
	s.Counter(descTSEvents, n.Locks, "lock")
	s.Counter(descTSEvents, n.Losses, "loss")
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
