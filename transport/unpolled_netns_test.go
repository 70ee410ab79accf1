package transport_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/transport"
)

// socketInode is the inode of the socket behind c's descriptor.
func socketInode(t *testing.T, c *transport.Conn) uint64 {
	t.Helper()
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	var link string
	require.NoError(t, rc.Control(func(fd uintptr) {
		link, err = os.Readlink("/proc/self/fd/" + strconv.Itoa(int(fd)))
	}))
	require.NoError(t, err)
	ino, ok := strings.CutPrefix(link, "socket:[")
	require.True(t, ok, "%s is not a socket", link)
	n, err := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64)
	require.NoError(t, err)
	return n
}

// epollWatching counts this process's epoll sets that watch the file
// with inode ino (each watched file is a "tfd: … ino:<hex>" line of the
// epoll descriptor's fdinfo).
func epollWatching(t *testing.T, ino uint64) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	want := "ino:" + strconv.FormatUint(ino, 16)
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err != nil || l != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", fd.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		for _, line := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(line, "tfd:") && strings.Contains(line+" ", " "+want+" ") {
				n++
			}
		}
	}
	return n
}

// TestFDLeavesRuntimePoller: a socket is in the Go runtime's epoll until
// an event loop asks for its descriptor (FD), and in none after, so that
// datagrams the loop has not yet chosen to read wake no thread of the
// runtime's. The Conn still works: blocking Receive, TryReceive, sends
// with their transmit timestamps, and Close ending a blocked Receive.
func TestFDLeavesRuntimePoller(t *testing.T) {
	p := newPair(t)
	for _, o := range openers {
		t.Run(o.name, func(t *testing.T) {
			ta, tb := openIn(t, p.la, o), openIn(t, p.lb, o)
			ino := socketInode(t, tb.Event)
			require.Equal(t, 1, epollWatching(t, ino), "a new socket is in the runtime's poller")
			for _, c := range tb.Conns() {
				fd, err := c.FD()
				require.NoError(t, err)
				again, err := c.FD()
				require.NoError(t, err)
				assert.Equal(t, fd, again, "FD is the same descriptor every time")
			}
			assert.Equal(t, ino, socketInode(t, tb.Event), "the same socket")
			assert.Zero(t, epollWatching(t, ino), "after FD, no epoll set of the runtime's watches it")

			// Both ways still work: tb's sends are timestamped, and a
			// blocking Receive on tb gets ta's message.
			ts, err := tb.SendEvent(message(0, 1), tb.Primary)
			require.NoError(t, err)
			assert.Positive(t, ts)
			got := make(chan received, 1)
			go func() {
				buf := make([]byte, 1500)
				var info transport.RxInfo
				n, err := tb.Event.Receive(buf, &info)
				got <- received{msg: buf[:max(n, 0)], info: info, err: err}
			}()
			_, err = ta.SendEvent(message(0, 2), ta.Primary)
			require.NoError(t, err)
			select {
			case r := <-got:
				require.NoError(t, r.err)
				assert.Equal(t, message(0, 2), r.msg)
				assert.True(t, r.info.HasTime)
			case <-time.After(5 * time.Second):
				t.Fatal("no message in 5 s")
			}

			// Close ends a Receive blocked on the descriptor.
			go func() {
				buf := make([]byte, 1500)
				var info transport.RxInfo
				_, err := tb.Event.Receive(buf, &info)
				got <- received{err: err}
			}()
			time.Sleep(20 * time.Millisecond)
			require.NoError(t, tb.Close())
			select {
			case r := <-got:
				assert.ErrorIs(t, r.err, transport.ErrClosed)
			case <-time.After(2 * time.Second):
				t.Fatal("Close did not end the blocked Receive")
			}
		})
	}
}
