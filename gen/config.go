package gen

import (
	"errors"
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Amsterdam must resolve in a bare container too
)

// Config describes one synthetic world. The same Config gives byte-identical
// output in every format.
type Config struct {
	// Seed selects the world: providers, people, waits and times.
	Seed int64
	// Appointments is the scale knob (100_000 for --quick, 1_000_000 by
	// default); every other count scales from it (see the package doc).
	// 1 to 12,000,000.
	Appointments int
	// AsOf is the world's "today": its Europe/Amsterdam calendar date is
	// what every date is relative to. The zero time means today.
	AsOf time.Time
	// DeploymentKey is the key DeriveID uses for every id; the importer
	// passes the store's key so the ids match the gateway's own. Nil is
	// the empty key.
	DeploymentKey []byte

	// Optional overrides; zero keeps the default. For the shares a
	// negative value means none.

	// AcademicCentres is the number of UMCs (0602), default 8.
	AcademicCentres int
	// Hospitals is the number of hospitals including the UMCs and the
	// specialised hospitals, default 80.
	Hospitals int
	// SpecialisedHospitals is the number of eye hospitals (0613) and
	// orthopaedic clinics (0614), alternating, default 4.
	SpecialisedHospitals int
	// ZBCs is the number of independent treatment centres (2200), default 120.
	ZBCs int
	// PatientsPerAppointment is the number of Patient resources per
	// appointment, default 0.6.
	PatientsPerAppointment float64
	// SharedPatientShare is the share of Patient resources that are a
	// second record of a person at another provider (same BSN), default 0.08.
	SharedPatientShare float64
	// FreeSlotsPerAppointment is the number of free Slots per appointment,
	// default 0.12 (120,000 at the 1M scale).
	FreeSlotsPerAppointment float64
	// OnHoldShare is the share of unbooked waits on hold (wenswachttijd),
	// default 0.08.
	OnHoldShare float64
	// HighComplexityShare is the share of academic-centre waits marked
	// complexity high, default 0.25.
	HighComplexityShare float64
	// SwitcherShare is the share of people who changed insurer on 1 January
	// (their ended Coverage is kept), default 0.03.
	SwitcherShare float64
	// ExceedShare overrides the share of waits past the Treeknorm per
	// wait-kind code; kinds not in the map keep DefaultExceedShare.
	ExceedShare map[string]float64
}

// MaxAppointments is the largest supported scale (the BSN space of the
// generator holds 8 million people).
const MaxAppointments = 12_000_000

func orFloat(v, def float64) float64 {
	switch {
	case v < 0:
		return 0
	case v == 0:
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// normalized returns cfg with the defaults filled in, or an error.
func (cfg Config) normalized() (Config, error) {
	if cfg.Appointments < 1 || cfg.Appointments > MaxAppointments {
		return cfg, fmt.Errorf("gen: Appointments must be 1 to %d, got %d", MaxAppointments, cfg.Appointments)
	}
	if cfg.AsOf.IsZero() {
		cfg.AsOf = time.Now()
	}
	cfg.AcademicCentres = orInt(cfg.AcademicCentres, 8)
	cfg.Hospitals = orInt(cfg.Hospitals, 80)
	cfg.SpecialisedHospitals = orInt(cfg.SpecialisedHospitals, 4)
	cfg.ZBCs = orInt(cfg.ZBCs, 120)
	if cfg.Hospitals < cfg.AcademicCentres+cfg.SpecialisedHospitals {
		return cfg, errors.New("gen: Hospitals must cover AcademicCentres and SpecialisedHospitals")
	}
	cfg.PatientsPerAppointment = orFloat(cfg.PatientsPerAppointment, 0.6)
	if cfg.PatientsPerAppointment <= 0 {
		return cfg, errors.New("gen: PatientsPerAppointment must be positive")
	}
	cfg.SharedPatientShare = orFloat(cfg.SharedPatientShare, 0.08)
	if cfg.SharedPatientShare > 0.5 {
		return cfg, errors.New("gen: SharedPatientShare must be at most 0.5")
	}
	cfg.FreeSlotsPerAppointment = orFloat(cfg.FreeSlotsPerAppointment, 0.12)
	cfg.OnHoldShare = orFloat(cfg.OnHoldShare, 0.08)
	cfg.HighComplexityShare = orFloat(cfg.HighComplexityShare, 0.25)
	cfg.SwitcherShare = orFloat(cfg.SwitcherShare, 0.03)
	for k, v := range cfg.ExceedShare {
		if kindIndex(k) < 0 {
			return cfg, fmt.Errorf("gen: ExceedShare: unknown wait kind %q", k)
		}
		if v <= 0 || v >= 0.95 {
			return cfg, fmt.Errorf("gen: ExceedShare[%s] must be in (0, 0.95)", k)
		}
	}
	return cfg, nil
}

// exceedShare returns the configured share of waits past the norm for a kind.
func (cfg Config) exceedShare(kind int) float64 {
	if v, ok := cfg.ExceedShare[KindCodes[kind]]; ok {
		return v
	}
	return DefaultExceedShare[KindCodes[kind]]
}

func kindIndex(code string) int {
	for i, c := range KindCodes {
		if c == code {
			return i
		}
	}
	return -1
}
