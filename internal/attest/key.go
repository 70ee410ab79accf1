package attest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DefaultKeyPath is where the host's attestation key lives unless told
// otherwise: beside the daemon's other state, in the directory systemd's
// StateDirectory=roko-ptpd makes.
const DefaultKeyPath = "/var/lib/roko-ptpd/attestation.key"

// ErrNoKey is returned by LoadKey when there is no key file.
var ErrNoKey = errors.New("attest: no attestation key")

// LoadKey reads the host's private key from path: PKCS #8 in PEM, as
// `openssl genpkey -algorithm ed25519` writes it, so the key can be made
// and backed up with common tools. It refuses a key that is not a regular
// file owned by the caller with no permission for group or others: whoever
// can read the key can sign any statement in this host's name.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("attest: key %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("attest: key %s: %w", path, err)
	}
	if err := checkKeyFile(path, fi); err != nil {
		return nil, err
	}
	b := make([]byte, 4096)
	n, err := f.Read(b)
	if err != nil {
		return nil, fmt.Errorf("attest: key %s: %w", path, err)
	}
	return parsePrivateKey(path, b[:n])
}

// checkKeyFile is LoadKey's refusal of a key others could read or swap.
func checkKeyFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("attest: key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("attest: key %s has mode %04o: group or others may use it, so anyone on this host could sign in its name; refused (chmod 600 %s, and make a new key if it may have been read)", path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("attest: key %s belongs to uid %d, not to this user (uid %d); refused", path, st.Uid, os.Geteuid())
	}
	return nil
}

func parsePrivateKey(path string, b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("attest: key %s: not a PEM \"PRIVATE KEY\" (PKCS #8)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("attest: key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("attest: key %s: a %T, not an Ed25519 key", path, k)
	}
	return ek, nil
}

// LoadOrCreateKey reads the key at path, or makes one there when there is
// none: mode 0600, its directory made 0700 if missing. created says which.
func LoadOrCreateKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	key, err = LoadKey(path)
	if !errors.Is(err, ErrNoKey) {
		return key, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("attest: key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, false, err
	}
	// Written whole to a private temporary file, then linked into place:
	// link(2) never replaces an existing file, so racing callers end with
	// one key, and nobody ever reads a half-written one.
	f, err := os.CreateTemp(filepath.Dir(path), ".attestation-*.key")
	if err != nil {
		return nil, false, fmt.Errorf("attest: creating key: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("attest: writing key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("attest: writing key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("attest: writing key %s: %w", path, err)
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		key, err := LoadKey(path) // made by someone else just now
		return key, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("attest: creating key %s: %w", path, err)
	}
	return priv, true, nil
}

// PublicKeyPEM is the host's public key as a verifier enrolls it:
// SubjectPublicKeyInfo in PEM, which openssl reads too.
func PublicKeyPEM(k ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads an enrolled public key: PEM "PUBLIC KEY" as
// PublicKeyPEM writes it, or the one-line "ed25519 BASE64" form of a
// statement's publicKey line.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("attest: a PEM %q, not a PUBLIC KEY", blk.Type)
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("attest: %w", err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("attest: a %T public key, not Ed25519", k)
		}
		return ek, nil
	}
	k, err := ParsePublicKeyText(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	return k, nil
}

// Fingerprint names a public key briefly for messages: the first 8 bytes
// of its SHA-256, in hex.
func Fingerprint(k ed25519.PublicKey) string {
	h := sha256.Sum256(k)
	return "SHA256:" + hex.EncodeToString(h[:8])
}
