package analyze

import (
	"fmt"
	"io"
	"sort"
)

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s: %d frames, %d PTP messages", rep.File, rep.Frames, rep.PTP)
	if rep.Damaged > 0 {
		fmt.Fprintf(w, ", %d damaged frames", rep.Damaged)
	}
	if rep.Truncated {
		fmt.Fprint(w, ", file truncated (analysed as far as it goes)")
	}
	fmt.Fprintln(w)
	for _, p := range rep.Ports {
		fmt.Fprintf(w, "\ndomain %d, port %s", p.Domain, p.Identity)
		if p.Grandmaster != "" {
			fmt.Fprintf(w, " (announces grandmaster %s)", p.Grandmaster)
		}
		fmt.Fprintln(w)
		names := make([]string, 0, len(p.Messages))
		for n := range p.Messages {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ts := p.Messages[n]
			fmt.Fprintf(w, "  %-22s %7d  %8.3f/s  interval jitter %9.0f ns", n, ts.Count, ts.Rate, ts.Interval.StdDev)
			if ts.Gaps > 0 {
				fmt.Fprintf(w, "  gaps %d, lost %d (%.2f%%)", ts.Gaps, ts.Lost, ts.LossPct)
			}
			fmt.Fprintln(w)
		}
		if p.SyncWithoutFollowUp+p.FollowUpWithoutSync > 0 {
			fmt.Fprintf(w, "  unmatched: %d Sync without Follow_Up, %d Follow_Up without Sync\n", p.SyncWithoutFollowUp, p.FollowUpWithoutSync)
		}
		if p.DelayReqUnanswered > 0 {
			fmt.Fprintf(w, "  %d Delay_Req unanswered\n", p.DelayReqUnanswered)
		}
		if p.DelayRespUnmatched > 0 {
			fmt.Fprintf(w, "  %d Delay_Resp for requests not in the capture\n", p.DelayRespUnmatched)
		}
		for _, s := range []struct {
			name string
			v    Series
		}{{"offset", p.Offset}, {"path delay", p.PathDelay}} {
			if s.v.N > 0 {
				fmt.Fprintf(w, "  %-10s n %d  mean %.0f ns  stddev %.0f  min %.0f  max %.0f\n", s.name, s.v.N, s.v.Mean, s.v.StdDev, s.v.Min, s.v.Max)
			}
		}
		for _, c := range p.Changes {
			fmt.Fprintf(w, "  frame %d %s: %s\n", c.Frame, c.Time.UTC().Format("15:04:05.000000"), c.What)
		}
	}
	for _, c := range rep.GMChanges {
		fmt.Fprintf(w, "frame %d %s: %s\n", c.Frame, c.Time.UTC().Format("15:04:05.000000"), c.What)
	}
	if rep.Untracked > 0 {
		fmt.Fprintf(w, "%d messages from ports beyond the first %d not analysed\n", rep.Untracked, MaxPorts)
	}
	for _, pr := range rep.Problems {
		fmt.Fprintf(w, "frame %d: %s\n", pr.Frame, pr.Error)
	}
	if rep.MoreProblems > 0 {
		fmt.Fprintf(w, "... and %d more unreadable messages\n", rep.MoreProblems)
	}
}
