// Command wachtwijzer is the Wachtwijzer FHIR gateway: see package app for
// the subcommands and flags.
package main

import (
	"context"
	"os"
	_ "time/tzdata" // Europe/Amsterdam without the OS zone database

	"github.com/wachtwijzer/wachtwijzer/app"
)

func main() {
	os.Exit(app.Main(context.Background(), os.Args[1:], app.Env{Stdout: os.Stdout, Stderr: os.Stderr}))
}
