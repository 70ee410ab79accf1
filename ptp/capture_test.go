package ptp_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roko-network/roko-ptpd/internal/capture"
	"github.com/roko-network/roko-ptpd/ptp"
)

// sharedCaptures is where the team's shared captures live beside the
// repository (a clean clone in CI has shared/ next to it).
const sharedCaptures = "../../shared/testdata/pcap"

// captureFiles lists every pcap and pcapng under the shared captures and the
// repository's own testdata. Without the shared folder the test skips on a
// laptop and fails in CI.
func captureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, root := range []string{sharedCaptures, "../testdata/pcap"} {
		if _, err := os.Stat(root); err != nil {
			if root == sharedCaptures {
				if os.Getenv("CI") == "true" {
					t.Fatalf("shared captures missing at %s: %v", root, err)
				}
				t.Skipf("shared captures not found at %s (they sit beside the repository)", root)
			}
			continue
		}
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng") {
				files = append(files, path)
			}
			return nil
		})
		require.NoError(t, err)
	}
	require.NotEmpty(t, files)
	return files
}

// isPTPv1 marks the capture whose every message must be refused as PTPv1.
func isPTPv1(path string) bool { return strings.Contains(filepath.Base(path), "ptpv1") }

// TestCapturesRoundTrip decodes every PTP message of every capture and
// re-encodes it, byte for byte over its messageLength. Bytes after
// messageLength (padding, Annex E trailers) must not disturb the decoder.
func TestCapturesRoundTrip(t *testing.T) {
	for _, path := range captureFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r, err := capture.Open(path)
			require.NoError(t, err)
			defer r.Close()
			var (
				pkt     capture.Packet
				dec     ptp.Decoder
				n       int
				perType = map[ptp.MessageType]int{}
				buf     = make([]byte, 0, 1500)
			)
			for {
				err := r.Next(&pkt)
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				n++
				p, err := ptp.Decode(pkt.Payload)
				if isPTPv1(path) {
					require.ErrorIs(t, err, ptp.ErrUnsupportedVersion, "frame %d", pkt.Frame)
					continue
				}
				require.NoError(t, err, "frame %d", pkt.Frame)
				h := p.Hdr()
				msg := pkt.Payload[:h.MessageLength]
				perType[p.Type()]++

				out, err := p.AppendBinary(buf[:0])
				require.NoError(t, err, "frame %d", pkt.Frame)
				require.Equal(t, msg, out, "frame %d (%s): re-encoding differs", pkt.Frame, p.Type())

				// The allocation-free Decoder must agree with Decode.
				q, err := dec.Decode(pkt.Payload)
				require.NoError(t, err, "frame %d", pkt.Frame)
				qout, err := q.AppendBinary(nil)
				require.NoError(t, err)
				require.Equal(t, msg, qout, "frame %d: Decoder and Decode disagree", pkt.Frame)
			}
			require.Positive(t, n, "no PTP message found")
			t.Logf("%d PTP messages: %v", n, perType)
		})
	}
}

// TestCapturePTPv1Rejected pins the version check to the one PTPv1 capture
// we have, so the loop above cannot pass by never seeing it.
func TestCapturePTPv1Rejected(t *testing.T) {
	path := filepath.Join(sharedCaptures, "external", "wireshark-wiki-ptpv1-udp4.pcap")
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	r, err := capture.Open(path)
	require.NoError(t, err)
	defer r.Close()
	var pkt capture.Packet
	n := 0
	for r.Next(&pkt) == nil {
		_, err := ptp.Decode(pkt.Payload)
		assert.True(t, errors.Is(err, ptp.ErrUnsupportedVersion), "frame %d: %v", pkt.Frame, err)
		var fe *ptp.FormatError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "versionPTP", fe.Field)
		n++
	}
	assert.Equal(t, 4, n)
}
