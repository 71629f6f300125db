package cln

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestProtectStdout runs protectStdout in a child process (it rewires
// the process's descriptors) that then prints to os.Stdout and writes a
// protocol message: only the message may reach the real stdout.
func TestProtectStdout(t *testing.T) {
	if os.Getenv("CHANFITNESS_PROTECT_CHILD") == "1" {
		pipe, err := protectStdout()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("stray text")
		fmt.Fprintln(os.Stdout, "more stray text")
		w := newProtoWriter(pipe)
		w.log(levelInfo, "hello")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestProtectStdout$")
	cmd.Env = append(os.Environ(), "CHANFITNESS_PROTECT_CHILD=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	require.Equal(t, `{"jsonrpc":"2.0","method":"log","params":`+
		`{"level":"info","message":"hello"}}`+"\n\n", stdout.String())
	require.Contains(t, stderr.String(), "stray text\nmore stray text")
}
