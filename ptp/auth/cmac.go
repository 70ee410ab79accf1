package auth

import (
	"crypto/cipher"
	"crypto/subtle"
)

// cmac is AES-CMAC (NIST SP 800-38B, RFC 4493) as a hash.Hash, so that it
// streams like HMAC: the standard library has no CMAC, and linuxptp's
// AES128 and AES256 keys are CMAC through nettle's cmac_aes128 and
// cmac_aes256. Written from RFC 4493 section 2.
type cmac struct {
	c      cipher.Block
	k1, k2 [16]byte // the subkeys
	x      [16]byte // the chaining value over every full block but the last
	buf    [16]byte // the last block seen, up to 16 octets, held back
	n      int      // octets in buf
	last   [16]byte // Sum's scratch: a local would escape into Encrypt
}

func newCMAC(c cipher.Block) *cmac {
	m := &cmac{c: c}
	var l [16]byte
	c.Encrypt(l[:], l[:])
	m.k1 = double(l)
	m.k2 = double(m.k1)
	return m
}

// double is the doubling in GF(2^128) of RFC 4493's Generate_Subkey: a
// shift left by one bit, and the constant 0x87 folded in when a bit fell
// off the top.
func double(in [16]byte) [16]byte {
	var out [16]byte
	for i := 0; i < 15; i++ {
		out[i] = in[i]<<1 | in[i+1]>>7
	}
	out[15] = in[15] << 1
	if in[0]&0x80 != 0 {
		out[15] ^= 0x87
	}
	return out
}

// Write adds p to the message. A full block is held back until more
// arrives, because the last block is finished differently.
func (m *cmac) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if m.n == 16 {
			subtle.XORBytes(m.x[:], m.x[:], m.buf[:])
			m.c.Encrypt(m.x[:], m.x[:])
			m.n = 0
		}
		c := copy(m.buf[m.n:], p)
		m.n += c
		p = p[c:]
	}
	return n, nil
}

// Sum appends the MAC of what was written to b and leaves the state as it
// was.
func (m *cmac) Sum(b []byte) []byte {
	last := m.last[:]
	if m.n == 16 {
		subtle.XORBytes(last, m.buf[:], m.k1[:])
	} else {
		clear(last)
		copy(last, m.buf[:m.n])
		last[m.n] = 0x80
		subtle.XORBytes(last, last, m.k2[:])
	}
	subtle.XORBytes(last, last, m.x[:])
	m.c.Encrypt(last, last)
	return append(b, last...)
}

// Reset starts a new message under the same key.
func (m *cmac) Reset() {
	m.x = [16]byte{}
	m.n = 0
}

// Size is the length of the MAC, 16 octets.
func (m *cmac) Size() int { return 16 }

// BlockSize is the AES block size, 16 octets.
func (m *cmac) BlockSize() int { return 16 }
