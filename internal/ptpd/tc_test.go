package ptpd

import (
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/phc"
)

// A ptp4l grandmaster, roko-ptpd as a transparent clock on two veths in a
// namespace of its own, and a ptp4l client (free_running) behind it; beside
// them a twin ptp4l pair joined by a plain bridge. The client through our
// TC synchronises, the Follow_Up (and, E2E, Delay_Resp) it gets carry a
// nonzero residence time (tshark), and its median |master_offset| is no
// worse than the twin's through the bridge beyond offsetMargin plus the
// spread (p90 − p10) of the residence times measured.
func TestPTP4LThroughOurTransparentClock(t *testing.T) {
	testenv.Short(t)
	testenv.RequireCommand(t, "pmc", "linuxptp")
	tcpdump := testenv.RequireCommand(t, "tcpdump", "tcpdump")
	tshark := testenv.RequireCommand(t, "tshark", "tshark")
	for _, tt := range []struct {
		name, clockType, flag string
		respType              string // the messageId whose correctionField carries a Delay_Req's residence
	}{
		{"E2E_TC", "E2E_TC", "-E", "9"},
		{"P2P_TC", "P2P_TC", "-P", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gmNS, tcNS, clNS := netns.New(t), netns.New(t), netns.New(t)
			gmLink, tcUp := netns.Veth(t, gmNS, "198.18.0.1", tcNS, "198.18.0.2")
			tcDown, clLink := netns.Veth(t, tcNS, "198.18.0.3", clNS, "198.18.0.4")
			pcap, stopCapture := capture(t, tcpdump, clLink, tcDown)

			clk, err := phc.NewVirtual(phc.VirtualConfig{Name: "tc"})
			require.NoError(t, err)
			startDaemon(t, tcUp, clk, "-i", tcDown.Name, "--clock_type="+tt.clockType, tt.flag, "--domainNumber=24")
			linuxptp.StartPTP4L(t, gmLink, linuxptp.Options{Flags: []string{"-4", tt.flag}, Domain: 24, Config: "masterOnly 1\npriority1 1\n"})
			// ptp4l forgets its outstanding Pdelay_Req when it enters
			// UNCALIBRATED and faults on the answer if that is still in
			// flight ("rogue peer delay response"), whoever the peer is;
			// its default fault_reset_interval (16 s) would then outlast
			// the measurement. Both clients get 1 s, and the client
			// through our TC may fault at most that once.
			const clientConfig = "slaveOnly 1\nfault_reset_interval 0\n"
			client := linuxptp.StartPTP4L(t, clLink, linuxptp.Options{Flags: []string{"-4", tt.flag}, Domain: 24, Config: clientConfig})

			// The twin: ptp4l to ptp4l through a bridge.
			bGM, bBr, bCl := netns.New(t), netns.New(t), netns.New(t)
			twinGM, brA := netns.Veth(t, bGM, "198.18.0.11", bBr, "")
			brB, twinCl := netns.Veth(t, bBr, "", bCl, "198.18.0.12")
			netns.Bridge(t, bBr, brA, brB)
			linuxptp.StartPTP4L(t, twinGM, linuxptp.Options{Flags: []string{"-4", tt.flag}, Domain: 24, Config: "masterOnly 1\npriority1 1\n"})
			twin := linuxptp.StartPTP4L(t, twinCl, linuxptp.Options{Flags: []string{"-4", tt.flag}, Domain: 24, Config: clientConfig})

			time.Sleep(3 * time.Second) // BMCA, first delay measurements
			ours, twinMedian := medianOffsets(t, 10*time.Second, client, twin)

			stopCapture()
			out, err := exec.Command(tshark, "-n", "-r", pcap, "-Y", "ptp", "-T", "fields",
				"-e", "ptp.v2.messagetype", "-e", "ptp.v2.correction.ns").Output()
			require.NoError(t, err)
			var fup, resp []float64
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				if len(f) != 2 {
					continue
				}
				v, _ := strconv.ParseFloat(f[1], 64)
				switch f[0] {
				case "8", "0x08", "0x8":
					fup = append(fup, v)
				case tt.respType, "0x0" + tt.respType, "0x" + tt.respType:
					resp = append(resp, v)
				}
			}
			require.NotEmpty(t, fup, "Follow_Up through the TC")
			slices.Sort(fup)
			p10, p50, p90 := fup[len(fup)/10], fup[len(fup)/2], fup[len(fup)*9/10]
			t.Logf("%s: Follow_Up correctionField over %d: p10 %.0f ns, median %.0f ns, p90 %.0f ns", tt.name, len(fup), p10, p50, p90)
			assert.Greater(t, fup[0], 0.0, "every Follow_Up carries a residence time")
			if tt.respType != "" {
				require.NotEmpty(t, resp, "Delay_Resp through the TC")
				slices.Sort(resp)
				t.Logf("%s: Delay_Resp correctionField over %d: median %.0f ns", tt.name, len(resp), resp[len(resp)/2])
				assert.Greater(t, resp[0], 0.0, "every Delay_Resp carries its Delay_Req's residence time")
			}
			margin := float64(offsetMargin) + (p90 - p10)
			t.Logf("%s: ptp4l client median |master_offset| through our TC %.0f ns, through a bridge %.0f ns (margin %.0f ns)", tt.name, ours, twinMedian, margin)
			assert.LessOrEqual(t, ours, twinMedian+margin, "client through our TC worse than through a bridge")
			assert.Contains(t, client.Output(), "UNCALIBRATED on RS_SLAVE")
			assert.LessOrEqual(t, strings.Count(client.Output(), "FAULT_DETECTED"), 1, "the client faulted more than its one race at UNCALIBRATED")
		})
	}
}

// masterOffsetRE is TIME_STATUS_NP's master_offset in pmc's output.
var masterOffsetRE = regexp.MustCompile(`master_offset\s+(-?\d+)`)

// medianOffsets samples the two clients' |master_offset| every 250 ms for
// d and returns the median of each, over the second half.
func medianOffsets(t *testing.T, d time.Duration, a, b *linuxptp.PTP4L) (float64, float64) {
	t.Helper()
	var offs [2][]float64
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		for i, p := range []*linuxptp.PTP4L{a, b} {
			out, err := p.PMC(t, "GET TIME_STATUS_NP")
			if err != nil {
				continue
			}
			if m := masterOffsetRE.FindStringSubmatch(out); m != nil {
				if v, _ := strconv.ParseFloat(m[1], 64); v != 0 {
					offs[i] = append(offs[i], max(v, -v))
				}
			}
		}
	}
	var med [2]float64
	for i, o := range offs {
		require.GreaterOrEqual(t, len(o), 8, "client %d measured offsets", i)
		tail := o[len(o)/2:]
		slices.Sort(tail)
		med[i] = tail[len(tail)/2]
	}
	return med[0], med[1]
}
