package auth

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseLinuxptpExample parses linuxptp 4.4's own configs/sa.cfg
// (testdata/SOURCE), allow_mutable and all.
func TestParseLinuxptpExample(t *testing.T) {
	db, err := LoadSAFile("testdata/linuxptp-sa.cfg")
	require.NoError(t, err)
	require.Equal(t, 2, db.Len())

	sa0 := db.Lookup(0)
	require.NotNil(t, sa0)
	assert.True(t, sa0.AllowMutable)
	assert.Equal(t, uint16(DefaultSeqIDWindow), sa0.SeqIDWindow)
	require.Len(t, sa0.Keys, 2)
	assert.Equal(t, HMACSHA256_128, sa0.Key(1).Algorithm)
	assert.Equal(t, HMACSHA256, sa0.Key(2).Algorithm)

	sa1 := db.Lookup(1)
	require.NotNil(t, sa1)
	assert.False(t, sa1.AllowMutable)
	assert.Equal(t, uint16(20), sa1.SeqIDWindow)
	require.Len(t, sa1.Keys, 3)
	assert.Equal(t, CMACAES128, sa1.Key(1).Algorithm)
	assert.Equal(t, CMACAES256, sa1.Key(2).Algorithm)
	assert.Equal(t, HMACSHA256, sa1.Key(3).Algorithm)
	assert.Nil(t, sa1.Key(4))
	assert.Nil(t, db.Lookup(2))
	assert.Equal(t, "key 2 (AES256)", sa1.Key(2).String())
}

// TestParseSAFileForms covers what linuxptp accepts beyond its example:
// case, white space, an spp without a section line, ASCII without a
// prefix, Base64 without padding, the zero lengths.
func TestParseSAFileForms(t *testing.T) {
	const file = `
  # comment
[SECURITY_ASSOCIATION]
	spp 255
  seqid_window 0
  seqnum_length 0
  res_length 0
  allow_mutable 0
  4294967295 sha256-128 ASCII:#not-a-comment
  2 Aes128 B64:+vSOugHnxZZqdst4eu1Oew
spp 7
3 SHA256 5 hello
`
	db, err := ParseSAFile(strings.NewReader(file), "x.cfg")
	require.NoError(t, err)
	sa := db.Lookup(255)
	require.NotNil(t, sa)
	assert.Equal(t, uint16(0), sa.SeqIDWindow)
	require.NotNil(t, sa.Key(4294967295))
	require.NotNil(t, sa.Key(2))
	assert.Equal(t, CMACAES128, sa.Key(2).Algorithm)
	require.NotNil(t, db.Lookup(7).Key(3))
	assert.Len(t, db.All(), 2)
}

// TestParseSAFileErrors: every bad file is refused with file:line and the
// problem, where linuxptp would print an error and drop the association.
func TestParseSAFileErrors(t *testing.T) {
	const hdr = "[security_association]\nspp 1\n"
	for _, tc := range []struct {
		name, file, want string
	}{
		{"spp range", "[security_association]\nspp 256\n", "sa.cfg:2: spp \"256\" is out of range"},
		{"spp negative", "[security_association]\nspp -1\n", "sa.cfg:2: spp \"-1\" is out of range"},
		{"spp twice", hdr + "1 SHA256 k\n[security_association]\nspp 1\n", "sa.cfg:5: spp 1 is already taken"},
		{"spp extra", "spp 1 2\n", "sa.cfg:1: spp takes one value"},
		{"no key", hdr + "[security_association]\nspp 2\n1 SHA256 k\n", "sa.cfg:2: security association spp 1 has no key"},
		{"no key at end", hdr, "sa.cfg:2: security association spp 1 has no key"},
		{"window range", hdr + "seqid_window 32768\n", "sa.cfg:3: seqid_window 32768 is out of range: must be 0 to 32767"},
		{"window word", hdr + "seqid_window many\n", "sa.cfg:3: seqid_window \"many\" is not an integer"},
		{"mutable 2", hdr + "allow_mutable 2\n", "sa.cfg:3: allow_mutable must be 0 or 1, not 2"},
		{"seqnum", hdr + "seqnum_length 4\n", "sa.cfg:3: seqnum_length 4: the field is not supported"},
		{"res", hdr + "res_length 2\n", "sa.cfg:3: res_length 2: the field is not supported"},
		{"setting first", "allow_mutable 1\n", "sa.cfg:1: allow_mutable before the association's spp line"},
		{"key first", "1 SHA256 k\n", "sa.cfg:1: key before the association's spp line"},
		{"unknown keyword", hdr + "window 3\n", "sa.cfg:3: unknown line starting \"window\""},
		{"unknown section", "[global]\n", "sa.cfg:1: unknown section [global]"},
		{"key id 0", hdr + "0 SHA256 k\n", "sa.cfg:3: key id \"0\" is out of range"},
		{"key id big", hdr + "4294967296 SHA256 k\n", "sa.cfg:3: key id \"4294967296\" is out of range"},
		{"key type", hdr + "1 MD5 k\n", "sa.cfg:3: unsupported key type \"MD5\""},
		{"key fields", hdr + "1 SHA256 32 k extra\n", "sa.cfg:3: a key line is 'id type [length] value', not 5 fields"},
		{"key two fields", hdr + "1 SHA256\n", "sa.cfg:3: a key line is 'id type [length] value', not 2 fields"},
		{"key length word", hdr + "1 SHA256 long k\n", "sa.cfg:3: key length \"long\" is not a positive integer"},
		{"key length differs", hdr + "1 SHA256 4 abc\n", "sa.cfg:3: key 1 is 3 octets, not the 4 its line gives"},
		{"aes length", hdr + "1 AES128 HEX:0011\n", "sa.cfg:3: key 1 is 2 octets: AES128 takes 16"},
		{"aes256 length", hdr + "1 AES256 HEX:FAF48EBA01E7C5966A76CB787AED4E7B\n", "sa.cfg:3: key 1 is 16 octets: AES256 takes 32"},
		{"hex odd", hdr + "1 SHA256 HEX:abc\n", "sa.cfg:3: key 1: hexadecimal value has an odd number of digits (3)"},
		{"hex digit", hdr + "1 SHA256 HEX:zz\n", "sa.cfg:3: key 1: hexadecimal value holds a character that is not a hex digit"},
		{"b64", hdr + "1 SHA256 B64:!!!!\n", "sa.cfg:3: key 1: value is not valid Base64"},
		{"empty", hdr + "1 SHA256 ASCII:\n", "sa.cfg:3: key 1: empty key value"},
		{"key twice", hdr + "1 SHA256 a\n1 SHA256 b\n", "sa.cfg:4: key id 1 is already taken in spp 1"},
		{"long line", hdr + strings.Repeat("x", maxLine+1) + "\n", "sa.cfg:3: line longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSAFile(strings.NewReader(tc.file), "sa.cfg")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var fe *SAFileError
			assert.ErrorAs(t, err, &fe)
		})
	}
}

func TestLoadSAFileMissing(t *testing.T) {
	_, err := LoadSAFile(t.TempDir() + "/none.cfg")
	require.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "sa_file: open")
}

// TestEmptySAFile: an empty file is a database without associations
// (linuxptp starts with it and refuses a port's spp later).
func TestEmptySAFile(t *testing.T) {
	db, err := ParseSAFile(strings.NewReader("# nothing\n"), "e.cfg")
	require.NoError(t, err)
	assert.Equal(t, 0, db.Len())
	assert.Nil(t, db.Lookup(0))
}
