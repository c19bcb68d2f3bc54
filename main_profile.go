//go:build profile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

// startProfile writes a CPU profile of this provider process to $M365_CPUPROFILE_DIR when the
// binary is built with `-tags profile` (for measuring plans of thousands of users).
func startProfile() func() {
	dir := os.Getenv("M365_CPUPROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s/%d-%d.prof", dir, time.Now().UnixNano(), os.Getpid()))
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
}
