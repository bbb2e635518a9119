package redistest

import "syscall"

// sysProcAttr puts the child in its own process group (so a terminal's ^C
// reaches only the test binary) and kills it when the test binary dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
