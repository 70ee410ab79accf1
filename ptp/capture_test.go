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

// repoCaptures holds copies of the team's shared captures (see their
// SOURCES.md), so a clean clone tests against them without ../shared.
const repoCaptures = "../testdata/pcap"

// sharedCaptures is the team's capture folder beside the repository. When it
// is there, captures added to it after the copy was taken are walked too.
const sharedCaptures = "../../shared/testdata/pcap"

// captureFiles lists every pcap and pcapng under the repository's testdata
// and any under the shared folder that the repository lacks.
func captureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	have := map[string]bool{}
	for _, root := range []string{repoCaptures, sharedCaptures} {
		if _, err := os.Stat(root); err != nil {
			require.NotEqual(t, repoCaptures, root, "repository captures missing: %v", err)
			continue
		}
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := filepath.Base(path)
			if (strings.HasSuffix(name, ".pcap") || strings.HasSuffix(name, ".pcapng")) && !have[name] {
				have[name] = true
				files = append(files, path)
			}
			return nil
		})
		require.NoError(t, err)
	}
	require.GreaterOrEqual(t, len(files), 18)
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
	path := filepath.Join(repoCaptures, "external", "wireshark-wiki-ptpv1-udp4.pcap")
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
