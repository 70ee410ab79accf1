package auth

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Algorithm is the integrity algorithm of a key: how its ICV is computed
// and how long it is. The names are linuxptp's sa_file key types.
type Algorithm uint8

// The algorithms linuxptp 4.4 offers (sad.c). HMAC keys may have any
// length; CMAC keys must be the cipher's key length.
const (
	// HMACSHA256_128 is HMAC-SHA256 truncated to 128 bits (sa_file
	// "SHA256-128"), the algorithm IEEE 1588-2019 P.2 requires.
	HMACSHA256_128 Algorithm = iota + 1
	// HMACSHA256 is HMAC-SHA256, 256 bits (sa_file "SHA256").
	HMACSHA256
	// CMACAES128 is AES-CMAC with a 128-bit key, 128 bits (sa_file
	// "AES128").
	CMACAES128
	// CMACAES256 is AES-CMAC with a 256-bit key, 128 bits (sa_file
	// "AES256").
	CMACAES256
)

var algorithms = [...]struct {
	name   string
	keyLen int // 0: any positive length
	icvLen int
}{
	HMACSHA256_128: {"SHA256-128", 0, 16},
	HMACSHA256:     {"SHA256", 0, 32},
	CMACAES128:     {"AES128", 16, 16},
	CMACAES256:     {"AES256", 32, 16},
}

// MaxICVLen is the longest ICV of any algorithm, in octets.
const MaxICVLen = 32

// ParseAlgorithm returns the algorithm an sa_file key type names. Case
// does not matter, as in linuxptp.
func ParseAlgorithm(s string) (Algorithm, bool) {
	for a := HMACSHA256_128; a <= CMACAES256; a++ {
		if strings.EqualFold(s, algorithms[a].name) {
			return a, true
		}
	}
	return 0, false
}

func (a Algorithm) valid() bool { return a >= HMACSHA256_128 && a <= CMACAES256 }

// String returns the sa_file key type ("SHA256-128").
func (a Algorithm) String() string {
	if a.valid() {
		return algorithms[a].name
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ICVLen returns the length of the algorithm's ICV in octets.
func (a Algorithm) ICVLen() int {
	if a.valid() {
		return algorithms[a].icvLen
	}
	return 0
}

// KeyLen returns the key length the algorithm requires in octets, or 0
// when any positive length will do (HMAC).
func (a Algorithm) KeyLen() int {
	if a.valid() {
		return algorithms[a].keyLen
	}
	return 0
}

// Key is one symmetric key of a security association: its keyID, its
// algorithm and the MAC state built from its secret. The secret itself is
// not kept and never printed. A Key is not safe for concurrent use: its
// MAC state is reused for every ICV (one event loop owns it).
type Key struct {
	// ID is the keyID the AUTHENTICATION TLV carries, 1 to 2^32-1.
	ID uint32
	// Algorithm computes the key's ICV.
	Algorithm Algorithm
	mac       hash.Hash
	sum       [MaxICVLen]byte
}

// ErrKeyLength is returned for a secret the algorithm cannot use.
var ErrKeyLength = errors.New("key length does not fit the algorithm")

// NewKey returns the key id of algorithm alg with the given secret. The
// secret is not retained.
func NewKey(id uint32, alg Algorithm, secret []byte) (*Key, error) {
	if !alg.valid() {
		return nil, fmt.Errorf("unknown algorithm %d", alg)
	}
	if id == 0 {
		return nil, errors.New("key id 0 is reserved")
	}
	if len(secret) == 0 || (alg.KeyLen() != 0 && len(secret) != alg.KeyLen()) {
		return nil, fmt.Errorf("%w: %s takes %s, not %d octets", ErrKeyLength, alg, keyLenText(alg), len(secret))
	}
	k := &Key{ID: id, Algorithm: alg}
	switch alg {
	case HMACSHA256_128, HMACSHA256:
		k.mac = hmac.New(sha256.New, secret)
	case CMACAES128, CMACAES256:
		b, err := aes.NewCipher(secret)
		if err != nil {
			return nil, err
		}
		k.mac = newCMAC(b)
	}
	return k, nil
}

func keyLenText(a Algorithm) string {
	if a.KeyLen() == 0 {
		return "any positive length"
	}
	return fmt.Sprintf("%d octets", a.KeyLen())
}

// String names the key without its secret.
func (k *Key) String() string { return fmt.Sprintf("key %d (%s)", k.ID, k.Algorithm) }

// icv3 computes the key's ICV over a, b and c written one after the
// other and returns it, aliasing the key's storage until the next call.
// Three parts let a receiver hash a message with its correctionField
// zeroed without writing to the message.
func (k *Key) icv3(a, b, c []byte) []byte {
	k.mac.Reset()
	k.mac.Write(a)
	k.mac.Write(b)
	k.mac.Write(c)
	return k.mac.Sum(k.sum[:0])[:k.Algorithm.ICVLen()]
}
