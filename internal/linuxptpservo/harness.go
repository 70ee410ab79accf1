package linuxptpservo

import (
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/roko-network/roko-ptpd/internal/linuxptp"
	"github.com/roko-network/roko-ptpd/internal/testenv"
	"github.com/roko-network/roko-ptpd/servo"
)

// The harness is built once per test binary: the first test that needs it
// pays the build (a fraction of a second); RemoveBuild, from TestMain,
// deletes it.
var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	skip string // why the harness cannot be built here
}

// Harness returns the path of the harness binary, building it on first
// use. It skips t (fails it under CI=true) when no C compiler or no
// linuxptp 4.4 tarball is available, and fails it when the build fails.
func Harness(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		compiler, err := exec.LookPath("gcc")
		if err != nil {
			if compiler, err = exec.LookPath("cc"); err != nil {
				build.skip = "no C compiler (gcc or cc) to build linuxptp's servos: apt-get install -y gcc, or make deps"
				return
			}
		}
		tarball, err := linuxptp.Tarball44()
		if err != nil {
			build.skip = err.Error()
			return
		}
		if build.dir, build.err = os.MkdirTemp("", "roko-linuxptp-servo-"); build.err != nil {
			return
		}
		build.bin, build.err = Build(compiler, tarball, build.dir)
	})
	if build.skip != "" {
		testenv.Missing(t, "%s", build.skip)
	}
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// RemoveBuild deletes the harness built by Harness, if any. Call it from
// TestMain after m.Run.
func RemoveBuild() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// StartForTest starts one of linuxptp's servos for t (see Start) and closes
// it when t ends, failing t if the harness failed at any point.
func StartForTest(t testing.TB, kind servo.Kind, cfg servo.Config, frequency float64) *Servo {
	t.Helper()
	s, err := Start(Harness(t), kind, cfg, frequency)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("linuxptp %s servo: %v", kind, err)
		}
	})
	return s
}
