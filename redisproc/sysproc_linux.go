package redisproc

import "syscall"

// sysProcAttr starts redis-server in its own process group and sends it
// SIGTERM (a clean shutdown that keeps the AOF) when the gateway dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
}
