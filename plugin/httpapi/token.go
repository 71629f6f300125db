package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// minTokenLen is the shortest token accepted from a file.
const minTokenLen = 16

// loadOrCreateToken reads the bearer token at path, or writes a new
// random one there (0600) when the file does not exist.
func loadOrCreateToken(path string, log Logger) (string, error) {
	b, err := ReadFileCapped(path)
	if errors.Is(err, fs.ErrNotExist) {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return "", fmt.Errorf("generate token: %w", err)
		}
		token := hex.EncodeToString(raw[:])
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", fmt.Errorf("token %s: %w", path, err)
		}
		if err := writeNew(path, []byte(token), 0o600); err != nil {
			return "", fmt.Errorf("token: %w", err)
		}
		log.Infof("made a read-only bearer token in %s", path)
		return token, nil
	}
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	token, err := parseToken(path, b)
	if err != nil {
		return "", err
	}
	warnIfOpen(log, "token", path, "with it the report (every channel "+
		"and peer)")
	return token, nil
}

// warnIfOpen warns when the secret file at path (a what) is readable
// by users other than its owner, saying what they may read with it and
// the fix.
func warnIfOpen(log Logger, what, path, with string) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() ||
		fi.Mode().Perm()&0o077 == 0 {

		return
	}
	log.Warnf("%s %s has mode %04o: other users of this machine may "+
		"read it and %s; chmod 600 %s", what, path, fi.Mode().Perm(),
		with, path)
}

// ReadToken reads the bearer token file at path.
func ReadToken(path string) (string, error) {
	b, err := ReadFileCapped(path)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return parseToken(path, b)
}

// parseToken checks a token file's content: at least 16 visible ASCII
// characters, surrounding white space ignored.
func parseToken(path string, b []byte) (string, error) {
	token := strings.TrimSpace(string(b))
	if len(token) < minTokenLen {
		return "", fmt.Errorf("token %s: want at least %d characters, "+
			"got %d (delete the file to have a new token made)", path,
			minTokenLen, len(token))
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return "", fmt.Errorf("token %s: character %d is not "+
				"visible ASCII", path, i+1)
		}
	}
	return token, nil
}
