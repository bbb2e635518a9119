package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// profileGateway starts a CPU profile of the gateway covering most of the
// workload about to run (with --profile); the returned function waits for
// it and writes profile-<workload>.pb.gz and a top-25 summary beside the
// results.
func (e *env) profileGateway(ctx context.Context, name string) func() {
	if e.debugAddr == "" {
		return func() {}
	}
	secs := int(e.c.duration.Seconds()) - 2
	if secs < 1 {
		secs = 1
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(time.Second) // past wrk's connection set-up
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", e.debugAddr, secs)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			logf("profile %s: %v", name, err)
			return
		}
		defer resp.Body.Close()
		e.writeProfile(name, resp.Body)
	}()
	return func() { <-done }
}

// writeProfile stores a profile and its top functions by cumulative time.
func (e *env) writeProfile(name string, r io.Reader) {
	file := filepath.Join(e.c.out, "profile-"+slug(name)+".pb.gz")
	f, err := os.Create(file)
	if err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	_, err = io.Copy(f, r)
	f.Close()
	if err != nil {
		logf("profile %s: %v", name, err)
		return
	}
	e.summarizeProfile(name, file)
}

// summarizeProfile writes the top functions of a stored profile by
// cumulative time to profile-<name>.txt.
func (e *env) summarizeProfile(name, file string) {
	top, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=25", e.bin, file).Output()
	if err != nil {
		logf("profile %s: pprof: %v", name, err)
		return
	}
	os.WriteFile(filepath.Join(e.c.out, "profile-"+slug(name)+".txt"), top, 0o644)
	logf("profile of %s in %s", name, file)
}
