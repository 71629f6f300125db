package lndsource

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/stretchr/testify/require"
)

// TestFilesAreCapped: a macaroon or certificate path naming a device that
// never ends, or a huge file, fails at once with an error naming it.
func TestFilesAreCapped(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, make([]byte, maxFileSize+1),
		0o600))
	for _, path := range []string{"/dev/zero", big} {
		_, err := LoadMacaroon(path)
		require.ErrorContains(t, err, path+" is larger than 1048576 bytes")

		srv := lndtest.New(t)
		_, err = Dial(ConnConfig{Host: srv.Host, TLSCertPath: path,
			MacaroonPath: srv.Macaroon(t, "info:read")})
		require.ErrorIs(t, err, ErrTLS)
		require.ErrorContains(t, err, path+" is larger than")

		_, err = Dial(ConnConfig{Host: srv.Host,
			TLSCertPath: srv.CertPath, MacaroonPath: path})
		require.ErrorContains(t, err, path+" is larger than")
	}
}
