package haproxytest

import (
	"os/exec"
	"syscall"
)

// Command is exec.Command for a process a test starts (haproxy, a relay,
// a daemon): the kernel kills it with SIGKILL when the test binary dies,
// so that a test that panics or times out, and never runs its cleanups,
// still leaves nothing running. The test stops it as usual otherwise.
func Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}
