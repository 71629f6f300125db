//go:build unix

package cln

import (
	"fmt"
	"os"
	"syscall"
)

// protectStdout moves the protocol pipe off file descriptor 1 and points
// descriptor 1 at stderr. It returns the protocol pipe. Afterwards
// anything any library prints to os.Stdout (glightning prints parameter
// errors there) lands in stderr instead of getting the plugin killed.
func protectStdout() (*os.File, error) {
	fd, err := syscall.Dup(1)
	if err != nil {
		return nil, fmt.Errorf("dup stdout: %w", err)
	}
	syscall.CloseOnExec(fd)
	if err := dupTo(2, 1); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("point stdout at stderr: %w", err)
	}
	return os.NewFile(uintptr(fd), "lightningd"), nil
}
