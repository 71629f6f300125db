package itest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Environment variables of the test.
const (
	// ClnEnv names Core Lightning: a directory with bin/lightningd, a
	// release tarball, or a directory holding one tarball. A relative
	// path is taken from the repository root.
	ClnEnv = "CHANFITNESS_CLN"

	// LndBinsEnv names the directory of lnd, lncli, btcd and btcctl.
	LndBinsEnv = "CHANFITNESS_LND_BINS"
)

// howTo says how to run the test; it ends every skip message.
const howTo = "run `make test` with " + ClnEnv + " naming a Core " +
	"Lightning install directory (bin/lightningd) or release tarball, " +
	"for example `" + ClnEnv + "=/opt/cln make test`; `make test` " +
	"builds lnd and btcd and sets " + LndBinsEnv + " (see README)"

// need skips the test, or fails it when CI=true, for a missing part.
func need(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + ": " + howTo
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// repoRoot is the directory of go.mod above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test")
		dir = parent
	}
}

// lightningd returns the path of bin/lightningd of the Core Lightning
// that ClnEnv names, unpacking a tarball into .cache/ the first time.
func lightningd(t *testing.T) string {
	t.Helper()
	where := os.Getenv(ClnEnv)
	if where == "" {
		need(t, "%s is not set", ClnEnv)
	}
	root := repoRoot(t)
	if !filepath.IsAbs(where) {
		where = filepath.Join(root, where)
	}
	info, err := os.Stat(where)
	if err != nil {
		need(t, "%s=%s: %v", ClnEnv, os.Getenv(ClnEnv), err)
	}
	if info.IsDir() {
		bin := filepath.Join(where, "bin", "lightningd")
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
		tars, _ := filepath.Glob(filepath.Join(where, "*.tar.*"))
		if len(tars) != 1 {
			need(t, "%s=%s holds neither bin/lightningd nor one "+
				"tarball (%d found)", ClnEnv, where, len(tars))
		}
		where = tars[0]
	}
	return unpack(t, where, filepath.Join(root, ".cache"))
}

// unpack unpacks tarball into cache/<its name> unless that is done, and
// returns the lightningd in it.
func unpack(t *testing.T, tarball, cache string) string {
	t.Helper()
	name := filepath.Base(tarball)
	if i := strings.Index(name, ".tar"); i > 0 {
		name = name[:i]
	}
	dir := filepath.Join(cache, name)
	bin := filepath.Join(dir, "bin", "lightningd")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	require.NoError(t, os.MkdirAll(cache, 0o700))
	tmp, err := os.MkdirTemp(cache, name+".unpack-")
	require.NoError(t, err)
	defer os.RemoveAll(tmp)
	out, err := exec.Command("tar", "-xf", tarball, "-C",
		tmp).CombinedOutput()
	require.NoError(t, err, "unpack %s: %s", tarball, out)
	_, err = os.Stat(filepath.Join(tmp, "bin", "lightningd"))
	require.NoError(t, err, "%s holds no bin/lightningd", tarball)
	if err := os.Rename(tmp, dir); err != nil {
		// Another test run unpacked it first.
		_, serr := os.Stat(bin)
		require.NoError(t, serr, "move %s into place: %v", dir, err)
	}
	return bin
}

// lndBins returns the directory LndBinsEnv names.
func lndBins(t *testing.T) string {
	t.Helper()
	bins := os.Getenv(LndBinsEnv)
	if bins == "" {
		need(t, "%s is not set", LndBinsEnv)
	}
	for _, b := range []string{"lnd", "lncli", "btcd", "btcctl"} {
		if _, err := os.Stat(filepath.Join(bins, b)); err != nil {
			need(t, "%s=%s: %v (`make itest-bins` builds it)",
				LndBinsEnv, bins, err)
		}
	}
	return bins
}

// goBuild builds a package of this module into dir and returns the path.
func goBuild(t *testing.T, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", pkg, b)
	return out
}
