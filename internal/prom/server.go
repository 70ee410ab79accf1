package prom

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
)

// Server serves GET /metrics.
type Server struct {
	ln      net.Listener
	srv     *http.Server
	handler http.Handler
	done    chan struct{}
}

// Serve listens on addr (host:port) and serves g's metrics at /metrics
// until Close. errorf is told why serving stopped, when it was not Close.
func Serve(addr string, g *Gatherer, errorf func(error)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	// Uncompressed: a few kB on a local network cost less to send than
	// to gzip, at every scrape.
	h := promhttp.HandlerForTransactional(g, promhttp.HandlerOpts{DisableCompression: true})
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	s := &Server{ln: ln, handler: h, done: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && errorf != nil {
			errorf(err)
		}
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Handler returns the /metrics handler, for benchmarks that scrape
// without a socket.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops serving, letting a scrape under way finish for up to a
// second.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if s.srv.Shutdown(ctx) != nil {
		s.srv.Close()
	}
	<-s.done
}

// descCPU is the one figure of client_golang's process collector that a
// time daemon's operators watch. Neither that collector (several /proc
// files a scrape) nor the Go runtime's (a few dozen go_* series) is
// registered: together they cost more per scrape than all of a daemon's
// own series.
var descCPU = NewCounter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.")

// ProcessCPU adds process_cpu_seconds_total, read with one getrusage.
func ProcessCPU(s *Sink) {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return
	}
	sec := float64(ru.Utime.Nano()+ru.Stime.Nano()) * 1e-9
	if sr := s.at(descCPU, nil); sr != nil {
		sr.val = sec
	}
}

// ProcessCPUName is the name of the family ProcessCPU adds.
const ProcessCPUName = "process_cpu_seconds_total"
