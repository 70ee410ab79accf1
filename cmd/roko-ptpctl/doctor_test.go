package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/doctor"
	"github.com/roko-network/roko-ptpd/internal/netns"
	"github.com/roko-network/roko-ptpd/internal/testenv"
)

// TestDoctorArgs: arguments the doctor cannot run with exit 3 with the
// reason; a configuration that does not load is a failed check (2), not
// a usage error; -h prints the usage.
func TestDoctorArgs(t *testing.T) {
	code := func(err error) int {
		var st exitStatus
		if errors.As(err, &st) {
			return st.code
		}
		if err != nil {
			return 1
		}
		return 0
	}
	var out bytes.Buffer
	err := doctorCmd([]string{"--bogus_option=1", "lo"}, &out)
	assert.Equal(t, 3, code(err))
	assert.ErrorContains(t, err, "doctor: ")
	assert.ErrorContains(t, err, "bogus_option")
	assert.Empty(t, out.String())
	err = doctorCmd([]string{"lo", "-f"}, &out)
	assert.Equal(t, 3, code(err))
	assert.ErrorContains(t, err, "option -f needs a value")

	require.NoError(t, doctorCmd([]string{"-h"}, &out))
	assert.Contains(t, out.String(), "Exit status: 0 every check passed, 1 the worst is a WARN, 2 a check")

	conf := filepath.Join(t.TempDir(), "bad.conf")
	require.NoError(t, os.WriteFile(conf, []byte("[global]\nlogSyncInterval x\n"), 0o644))
	out.Reset()
	err = doctorCmd([]string{"--json", "-f", conf, "lo"}, &out)
	assert.Equal(t, 2, code(err))
	var r doctor.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), "%s", out.String())
	require.NotEmpty(t, r.Checks)
	assert.Equal(t, doctor.CheckConfig, r.Checks[0].Name)
	assert.Equal(t, doctor.Fail, r.Checks[0].Status)
	assert.Contains(t, r.Checks[0].Detail, conf+":2: ")
	assert.Equal(t, []string{"lo"}, r.Interfaces)

	// Through run, as main calls it.
	err = run([]string{"doctor", "-Z"})
	assert.Equal(t, 3, code(err))
}

// TestDoctorLoopback: on the loopback interface, which timestamps in
// software only, the doctor fails the hardware checks and exits 2; the
// JSON names every check once for lo.
func TestDoctorLoopback(t *testing.T) {
	var out bytes.Buffer
	err := doctorCmd([]string{"--json", "lo"}, &out)
	var st exitStatus
	require.ErrorAs(t, err, &st)
	assert.Equal(t, 2, st.code)
	var r doctor.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	assert.Equal(t, doctor.Fail, r.Status)
	byName := map[string]doctor.Check{}
	for _, c := range r.Checks {
		_, dup := byName[c.Name]
		assert.False(t, dup, "%s twice", c.Name)
		byName[c.Name] = c
	}
	assert.Len(t, byName, 15)
	assert.Equal(t, doctor.Fail, byName[doctor.CheckTimestamping].Status)
	assert.Contains(t, byName[doctor.CheckTimestamping].Detail, "time_stamping hardware, but the driver of lo timestamps in software only")
	assert.Equal(t, "lo", byName[doctor.CheckTimestamping].Interface)
}

// TestDoctorOnVeth runs the built roko-ptpctl doctor inside a namespace
// it made, on a veth (software timestamps only, no PHC, no coalescing or
// rings), first with nothing running and then beside a roko-ptpd on the
// veth, and checks what it reports of the interface, exactly. Checks of
// the whole host (kernel, NTP daemons, CPU governor) depend on the
// machine and are only checked for being there.
func TestDoctorOnVeth(t *testing.T) {
	testenv.Short(t)
	la, _ := netns.Veth(t, netns.New(t), "198.18.0.1", netns.New(t), "198.18.0.2")
	dir := t.TempDir()
	ctl, daemon := filepath.Join(dir, "roko-ptpctl"), filepath.Join(dir, "roko-ptpd")
	for bin, pkg := range map[string]string{ctl: ".", daemon: "../roko-ptpd"} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	ifc := la.Name
	doctorRun := func(args ...string) (map[string]doctor.Check, doctor.Report) {
		t.Helper()
		c := la.NS.Command(ctl, append([]string{"doctor", "--json"}, args...)...)
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		var r doctor.Report
		require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), "%s\n%s", stdout.String(), stderr.String())
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, r.ExitCode(), code, "the exit status is the worst check's (%s)", r.Status)
		byName := map[string]doctor.Check{}
		for _, ch := range r.Checks {
			byName[ch.Name] = ch
		}
		for _, n := range []string{doctor.CheckKernel, doctor.CheckTimeDaemons, doctor.CheckCPUFrequency, doctor.CheckIRQBalance} {
			assert.Contains(t, byName, n)
		}
		return byName, r
	}
	type verdict struct {
		status doctor.Status
		detail string // exact, or a prefix when it ends in "…"
		fix    string
	}
	expect := func(got map[string]doctor.Check, want map[string]verdict) {
		t.Helper()
		for name, w := range want {
			c, ok := got[name]
			if !assert.True(t, ok, "no %s check", name) {
				continue
			}
			assert.Equal(t, w.status, c.Status, "%s: %s", name, c.Detail)
			if p, ok := strings.CutSuffix(w.detail, "…"); ok {
				assert.True(t, strings.HasPrefix(c.Detail, p), "%s: %q does not start %q", name, c.Detail, p)
			} else {
				assert.Equal(t, w.detail, c.Detail, name)
			}
			assert.Equal(t, w.fix, c.Fix, name)
		}
	}
	const swFix = "use a NIC whose driver timestamps in hardware, or run roko-ptpd with software timestamps: -S, or time_stamping software in [global]"

	// Nothing runs: the hardware checks fail, the veth has nothing to
	// tune, and no one has joined PTP's group.
	got, r := doctorRun(ifc)
	assert.Equal(t, []string{ifc}, r.Interfaces)
	assert.Equal(t, doctor.Fail, r.Status)
	expect(got, map[string]verdict{
		doctor.CheckConfig:    {doctor.Skip, "no configuration file given (-f FILE): checked against ptp4l's defaults (time_stamping hardware, UDPv4, E2E)", ""},
		doctor.CheckInterface: {doctor.Pass, ifc + " is up with a carrier (operstate up), 10000 Mb/s", ""},
		doctor.CheckTimestamping: {doctor.Fail, fmt.Sprintf("time_stamping hardware, but the driver of %s timestamps in software only (ethtool -T %s: software-transmit, software-receive, software-system-clock)", ifc, ifc),
			swFix},
		doctor.CheckPHC: {doctor.Fail, fmt.Sprintf("%s has no PTP hardware clock (ethtool -T %s: 'PTP Hardware Clock: none'); …", ifc, ifc),
			"load the NIC driver with its PTP support (modprobe ptp, then the driver: i40e, ice, igb, ixgbe, mlx5_core…); a NIC without a PHC cannot timestamp in hardware: use -S"},
		doctor.CheckCoalescing: {doctor.Pass, ifc + ": its driver (a virtual interface's) has no interrupt coalescing to set", ""},
		doctor.CheckRings:      {doctor.Pass, ifc + ": its driver (a virtual interface's) has no rings to set", ""},
		doctor.CheckLinkErrors: {doctor.Pass, ifc + ": no errors or drops since boot", ""},
		doctor.CheckMulticast: {doctor.Warn, fmt.Sprintf("no program has joined 224.0.1.129 on %s (/proc/net/igmp): no PTP daemon listens there", ifc),
			fmt.Sprintf("start roko-ptpd on it: systemctl enable --now roko-ptpd@%s; if it runs and this stays, see its log", ifc)},
		doctor.CheckFirewall:   {doctor.Pass, "…", ""},
		doctor.CheckPTPDaemons: {doctor.Pass, "no ptp4l, roko-ptpd, ptpd or phc2sys runs in this network namespace", ""},
		doctor.CheckScheduling: {doctor.Skip, "no PTP daemon runs in this network namespace", ""},
	})

	// A roko-ptpd with software timestamps on the veth (a grandmaster that
	// steers nothing). It sends only inside the namespaces.
	uds := filepath.Join(dir, "uds")
	d := la.NS.Command(daemon, "-S", "-4", "-i", ifc, "--free_running=1", "--serverOnly=1", "--uds_address="+uds, "--uds_ro_address="+uds+"ro")
	var log bytes.Buffer
	d.Stdout, d.Stderr = &log, &log
	require.NoError(t, d.Start())
	t.Cleanup(func() { _ = d.Process.Kill(); _ = d.Wait() })
	pid := d.Process.Pid // ip netns exec execs the daemon: this is its pid
	deadline := time.Now().Add(10 * time.Second)
	for {
		igmp, err := la.NS.Command("cat", "/proc/net/igmp").Output()
		require.NoError(t, err)
		if bytes.Contains(igmp, []byte("810100E0")) {
			break
		}
		if time.Now().After(deadline) {
			// The log is read once the daemon, its writer, is gone.
			_ = d.Process.Kill()
			_ = d.Wait()
			t.Fatalf("roko-ptpd did not join 224.0.1.129 in 10 s:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	running := fmt.Sprintf("roko-ptpd (pid %d, %s)", pid, ifc)
	keep := "; to keep it across restarts: CPUSchedulingPolicy=fifo and CPUSchedulingPriority=99 in the unit (systemctl edit roko-ptpd@IFACE)"
	beside := map[string]verdict{
		doctor.CheckTimestamping: {doctor.Pass, fmt.Sprintf("time_stamping software: %s can (software-transmit, software-receive, software-system-clock)", ifc), ""},
		doctor.CheckPHC:          {doctor.Skip, ifc + " has none, and software timestamps need none (…", ""},
		doctor.CheckMulticast:    {doctor.Pass, ifc + " has joined 224.0.1.129", ""},
		doctor.CheckPTPDaemons:   {doctor.Pass, "running: " + running, ""},
		doctor.CheckScheduling:   {doctor.Warn, running + ": 0 of …", fmt.Sprintf("chrt -a -f -p 99 %d", pid) + keep},
	}
	got, _ = doctorRun("-S", ifc)
	expect(got, beside)

	// With no arguments the doctor checks the running daemon as it was
	// started.
	got, r = doctorRun()
	assert.Equal(t, []string{ifc}, r.Interfaces)
	expect(got, beside)
	expect(got, map[string]verdict{doctor.CheckConfig: {doctor.Skip, fmt.Sprintf("roko-ptpd (pid %d) as started: %s -S -4 -i %s …", pid, daemon, ifc), ""}})
}
