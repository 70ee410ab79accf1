package auth

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// An sa_file (linuxptp 4.4, ptp4l(8) SECURITY ASSOCIATION OPTIONS):
//
//	# comment (only at the start of a line: a key may hold '#')
//	[security_association]
//	spp 1                 # 0-255, unique; starts an association
//	seqid_window 20       # 0-32767, default 3
//	allow_mutable 1       # 0 or 1, default 0
//	seqnum_length 0       # only 0: the sequenceNo field is not supported
//	res_length 0          # only 0: the RES field is not supported
//	1 SHA256-128 HEX:F8AD…  # id type [length] value
//
// Where linuxptp prints an error, drops the association and starts
// anyway (or ignores a line it cannot read), this parser refuses the
// file: a typo in a key file must not leave a port without the security
// its operator asked for.

// SAFileError is an error in an sa_file, with its place.
type SAFileError struct {
	File string
	Line int
	Msg  string
}

func (e *SAFileError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// LoadSAFile reads and parses the sa_file at path.
func LoadSAFile(path string) (*Database, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sa_file: %w", err)
	}
	defer f.Close()
	return ParseSAFile(f, path)
}

// maxLine bounds one line of an sa_file.
const maxLine = 4096

// ParseSAFile parses an sa_file; name is the file's name in errors.
func ParseSAFile(r io.Reader, name string) (*Database, error) {
	p := saParser{db: new(Database), name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLine)
	for sc.Scan() {
		p.line++
		if err := p.parseLine(sc.Text()); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			p.line++
			return nil, p.errf("line longer than %d octets", maxLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return p.db, nil
}

type saParser struct {
	db      *Database
	name    string
	line    int
	cur     *SecurityAssociation
	curLine int // where cur's spp line is
}

func (p *saParser) errf(format string, args ...any) error {
	return &SAFileError{File: p.name, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

// finish closes the current association: one without keys could never
// authenticate anything.
func (p *saParser) finish() error {
	if p.cur != nil && len(p.cur.Keys) == 0 {
		return &SAFileError{File: p.name, Line: p.curLine, Msg: fmt.Sprintf("security association spp %d has no key", p.cur.SPP)}
	}
	return nil
}

func (p *saParser) parseLine(raw string) error {
	s := strings.TrimSpace(raw)
	if s == "" || s[0] == '#' {
		return nil
	}
	if strings.EqualFold(s, "[security_association]") {
		if err := p.finish(); err != nil {
			return err
		}
		p.cur = nil
		return nil
	}
	if s[0] == '[' {
		return p.errf("unknown section %s: only [security_association]", s)
	}
	f := strings.Fields(s)
	switch f[0] {
	case "spp":
		if len(f) != 2 {
			return p.errf("spp takes one value: spp 0-255")
		}
		v, err := strconv.Atoi(f[1])
		if err != nil || v < 0 || v > 255 {
			return p.errf("spp %q is out of range: must be 0 to 255", f[1])
		}
		if err := p.finish(); err != nil {
			return err
		}
		sa := &SecurityAssociation{SPP: uint8(v), SeqIDWindow: DefaultSeqIDWindow}
		if !p.db.Add(sa) {
			return p.errf("spp %d is already taken", v)
		}
		p.cur, p.curLine = sa, p.line
		return nil
	case "seqid_window", "allow_mutable", "seqnum_length", "res_length":
		if p.cur == nil {
			return p.errf("%s before the association's spp line", f[0])
		}
		if len(f) != 2 {
			return p.errf("%s takes one value", f[0])
		}
		v, err := strconv.Atoi(f[1])
		if err != nil {
			return p.errf("%s %q is not an integer", f[0], f[1])
		}
		return p.setting(f[0], v)
	}
	if p.cur == nil {
		if isDigits(f[0]) {
			return p.errf("key before the association's spp line")
		}
		return p.errf("unknown line %q", s)
	}
	return p.key(f)
}

func (p *saParser) setting(name string, v int) error {
	switch name {
	case "seqid_window":
		if v < 0 || v > MaxSeqIDWindow {
			return p.errf("seqid_window %d is out of range: must be 0 to %d", v, MaxSeqIDWindow)
		}
		p.cur.SeqIDWindow = uint16(v)
	case "allow_mutable":
		if v != 0 && v != 1 {
			return p.errf("allow_mutable must be 0 or 1, not %d", v)
		}
		p.cur.AllowMutable = v == 1
	case "seqnum_length", "res_length":
		// linuxptp refuses a positive length: IEEE 1588-2019 leaves
		// these fields unused.
		if v != 0 {
			return p.errf("%s %d: the field is not supported, only 0", name, v)
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// key parses "id type [length] value".
func (p *saParser) key(f []string) error {
	if len(f) < 3 || len(f) > 4 {
		if !isDigits(f[0]) {
			return p.errf("unknown line starting %q: expected spp, seqid_window, allow_mutable or a key 'id type [length] value'", f[0])
		}
		return p.errf("a key line is 'id type [length] value', not %d fields", len(f))
	}
	id, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil || id < 1 || id > 1<<32-1 {
		return p.errf("key id %q is out of range: must be 1 to 4294967295", f[0])
	}
	alg, ok := ParseAlgorithm(f[1])
	if !ok {
		return p.errf("unsupported key type %q: use SHA256-128, SHA256, AES128 or AES256", f[1])
	}
	want := -1
	value := f[2]
	if len(f) == 4 {
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 1 {
			return p.errf("key length %q is not a positive integer", f[2])
		}
		want, value = n, f[3]
	}
	secret, err := decodeSecret(value)
	if err != nil {
		return p.errf("key %d: %v", id, err)
	}
	defer clear(secret)
	if want >= 0 && len(secret) != want {
		return p.errf("key %d is %d octets, not the %d its line gives", id, len(secret), want)
	}
	if alg.KeyLen() != 0 && len(secret) != alg.KeyLen() {
		return p.errf("key %d is %d octets: %s takes %d", id, len(secret), alg, alg.KeyLen())
	}
	if p.cur.Key(uint32(id)) != nil {
		return p.errf("key id %d is already taken in spp %d", id, p.cur.SPP)
	}
	k, err := NewKey(uint32(id), alg, secret)
	if err != nil {
		return p.errf("key %d: %v", id, err)
	}
	p.cur.Keys = append(p.cur.Keys, k)
	return nil
}

// decodeSecret decodes a key value: ASCII:, HEX: or B64:, ASCII when
// there is no prefix.
func decodeSecret(v string) ([]byte, error) {
	var out []byte
	switch {
	case strings.HasPrefix(v, "HEX:"):
		h := v[4:]
		if len(h)%2 != 0 {
			return nil, fmt.Errorf("hexadecimal value has an odd number of digits (%d)", len(h))
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			return nil, errors.New("hexadecimal value holds a character that is not a hex digit")
		}
		out = b
	case strings.HasPrefix(v, "B64:"):
		s := v[4:]
		enc := base64.StdEncoding
		if !strings.HasSuffix(s, "=") {
			enc = base64.RawStdEncoding
		}
		b, err := enc.DecodeString(s)
		if err != nil {
			return nil, errors.New("value is not valid Base64")
		}
		out = b
	case strings.HasPrefix(v, "ASCII:"):
		out = []byte(v[6:])
	default:
		out = []byte(v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty key value")
	}
	return out, nil
}
