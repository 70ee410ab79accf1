package auth

import (
	"crypto/aes"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// The message of RFC 4493 section 4 and NIST SP 800-38B appendix D; each
// case MACs its first n octets.
const cmacMessage = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51" +
	"30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"

// TestCMACVectors checks the CMAC against RFC 4493's AES-128 examples and
// SP 800-38B's AES-256 ones (which OpenSSL's CMAC gives too), written
// whole and one octet at a time.
func TestCMACVectors(t *testing.T) {
	const k128 = "2b7e151628aed2a6abf7158809cf4f3c"
	const k256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
	for _, tc := range []struct {
		name, key string
		n         int
		mac       string
	}{
		{"AES128 empty", k128, 0, "bb1d6929e95937287fa37d129b756746"},
		{"AES128 one block", k128, 16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{"AES128 40", k128, 40, "dfa66747de9ae63030ca32611497c827"},
		{"AES128 four blocks", k128, 64, "51f0bebf7e3b9d92fc49741779363cfe"},
		{"AES256 empty", k256, 0, "028962f61b7bf89efc6b551f4667d983"},
		{"AES256 one block", k256, 16, "28a7023f452e8f82bd4bf28d8c37c35c"},
		{"AES256 40", k256, 40, "aaf3d8f1de5640c232f5b169b9c911e6"},
		{"AES256 four blocks", k256, 64, "e1992190549f6ed5696a2c056c315410"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := aes.NewCipher(unhex(t, tc.key))
			require.NoError(t, err)
			m := newCMAC(c)
			msg := unhex(t, cmacMessage)[:tc.n]
			_, _ = m.Write(msg)
			assert.Equal(t, tc.mac, hex.EncodeToString(m.Sum(nil)))
			assert.Equal(t, tc.mac, hex.EncodeToString(m.Sum(nil)), "Sum must not change the state")

			m.Reset()
			for i := range msg {
				_, _ = m.Write(msg[i : i+1])
			}
			assert.Equal(t, tc.mac, hex.EncodeToString(m.Sum(nil)), "written an octet at a time")
			assert.Equal(t, 16, m.Size())
			assert.Equal(t, 16, m.BlockSize())
		})
	}
}
