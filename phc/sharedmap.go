package phc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"golang.org/x/sys/unix"
)

// sharedMap is a small state file mapped into memory and shared between
// processes: the emulated PHC (emulated.go) and the emulated PPS source
// (emulated_pps.go) keep their whole state in one. Every access holds
// flock(LOCK_EX) on the file, plus a mutex within the process since flock
// belongs to the open file, so accesses from every process are totally
// ordered.
type sharedMap struct {
	path string
	what string // "emulated PHC", for errors
	mu   sync.Mutex
	f    *os.File
	mem  []byte
}

// openSharedMap maps the state file at path. what names the kind of
// state in errors.
func openSharedMap(path, what string) (*sharedMap, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, openErr(path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if fi.Size() < 16 || fi.Size() > 1<<20 {
		f.Close()
		return nil, fmt.Errorf("%s: %d bytes: not an %s state file: %w", path, fi.Size(), what, errCorrupt)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: mmap: %w", path, err)
	}
	return &sharedMap{path: path, what: what, f: f, mem: mem}, nil
}

// with runs fn on the mapping under the file lock. A fault on the
// mapping (the file truncated under it) is an error, not a crash; a
// closed map is EBADF, as a closed descriptor is.
func (sm *sharedMap) with(fn func(mem []byte) error) (err error) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.mem == nil {
		return unix.EBADF
	}
	if err := unix.Flock(int(sm.f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("%s: flock: %w", sm.path, err)
	}
	defer unix.Flock(int(sm.f.Fd()), unix.LOCK_UN)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: the state file changed under its mapping (%v): %w", sm.path, r, errCorrupt)
		}
	}()
	return fn(sm.mem)
}

// close unmaps the file and closes it; the state stays.
func (sm *sharedMap) close() error {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.mem == nil {
		return os.ErrClosed
	}
	err := unix.Munmap(sm.mem)
	sm.mem = nil
	return errors.Join(err, sm.f.Close())
}

// writeStateFile writes a new state file whole and renames it into
// place, so that a process opening path sees the old state or the new,
// and one that had the old open keeps it.
func writeStateFile(path, what string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	_, err = tmp.Write(b)
	err = errors.Join(err, tmp.Chmod(0o644), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	return nil
}
