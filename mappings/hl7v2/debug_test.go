package hl7v2

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestDebugSamples(t *testing.T) {
	f, _ := os.Open("testdata/senders.json")
	cfg, err := LoadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("/work/shared/data/standards/hl7v2/*.hl7")
	for _, fn := range files {
		raw, _ := os.ReadFile(fn)
		m, err := Parse(raw, ParseOptions{Senders: cfg})
		fmt.Println("=====", filepath.Base(fn), err)
		if m == nil {
			continue
		}
		res, err := Map(m, cfg.For(m.SendingApplication, m.SendingFacility), []byte("k"))
		code, probs := Outcome(nil, err)
		if res != nil {
			code, probs = Outcome(res.Warnings, nil)
			for _, r := range res.Resources {
				fmt.Println(r.Type, r.IfAbsent, string(r.JSON))
			}
			fmt.Println("unmapped", res.Unmapped, "source", res.SourceTime.FHIRDateTime())
		}
		fmt.Println("CODE", code)
		for _, p := range probs {
			fmt.Println("  ", p)
		}
		fmt.Printf("%q\n", BuildACK(m, code, probs, ACKOptions{ControlID: func() string { return "ACK1" }}))
	}
}
