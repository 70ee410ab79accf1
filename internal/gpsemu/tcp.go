package gpsemu

import (
	"errors"
	"net"
	"sync"
	"time"
)

// TCPServer sends the receiver's sentences to every connected TCP client,
// as a networked receiver or a serial-to-TCP bridge does. It is an
// io.Writer for Config.NMEA.
type TCPServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  chan struct{}
}

// ListenTCP listens on addr ("127.0.0.1:0" picks a port; see Addr) and
// accepts clients until Close.
func ListenTCP(addr string) (*TCPServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &TCPServer{ln: ln, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	go s.accept()
	return s, nil
}

func (s *TCPServer) accept() {
	defer close(s.done)
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.conns == nil {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
	}
}

// Addr is the address the server listens on.
func (s *TCPServer) Addr() net.Addr { return s.ln.Addr() }

// Clients counts the clients connected now.
func (s *TCPServer) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Write sends b to every client; a client that does not take it within
// 100 ms is disconnected. It never fails: no client is no error, as for
// a receiver talking to an unplugged cable.
func (s *TCPServer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Write(b); err != nil {
			c.Close()
			delete(s.conns, c)
		}
	}
	return len(b), nil
}

// Close stops listening and disconnects every client.
func (s *TCPServer) Close() error {
	err := s.ln.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for c := range s.conns {
		errs = append(errs, c.Close())
	}
	s.conns = nil
	return errors.Join(append(errs, err)...)
}
