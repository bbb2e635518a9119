package app

import (
	"bytes"
	"encoding/json"
	"flag"

	"os"

	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/mediation"
	"github.com/wachtwijzer/wachtwijzer/mediation/engine"
)

// regions loads the --regions table (the default provinces without one).
func (r *redisFlags) regions() (*mediation.Regions, error) {
	if r.regionsFile == "" {
		return mediation.DefaultRegions(), nil
	}
	b, err := os.ReadFile(r.regionsFile)
	if err != nil {
		return nil, usagef("--regions: %v", err)
	}
	reg, err := mediation.LoadRegions(b)
	if err != nil {
		return nil, usagef("--regions %s: %v", r.regionsFile, err)
	}
	return reg, nil
}

// mediationFlags configure the insurer operations.
type mediationFlags struct {
	treeknorm, providerKinds, geoPC4, ranking string
}

func (m *mediationFlags) register(fs *flag.FlagSet, withEngine bool) {
	fs.StringVar(&m.geoPC4, "geo-pc4", "", "PC4 → coordinates file (PC4;lat;lon per line): places members and locations without a geolocation")
	if !withEngine {
		return
	}
	fs.StringVar(&m.treeknorm, "treeknorm", "", "Treeknorm table (JSON {\"kinds\":{…},\"specialisms\":{…}}); default the norms in the README")
	fs.StringVar(&m.providerKinds, "provider-kinds", "", "provider-kind map (JSON {\"codes\":{\"system|code\":\"umc|hospital|zbc\"},\"agbPrefixes\":{…}})")
	fs.StringVar(&m.ranking, "ranking", "", "mediation ranking weights (JSON {\"contracted\":30,\"perDayGained\":1,\"perKm\":0.5})")
}

func readFlagFile(name, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--%s: %v", name, err)
	}
	return b, nil
}

// geo loads the --geo-pc4 file (nil without one).
func (m *mediationFlags) geo() (mediation.PC4Geo, error) {
	if m.geoPC4 == "" {
		return nil, nil
	}
	b, err := readFlagFile("geo-pc4", m.geoPC4)
	if err != nil {
		return nil, err
	}
	g, err := mediation.LoadPC4Geo(bytes.NewReader(b))
	if err != nil {
		return nil, usagef("--geo-pc4 %s: %v", m.geoPC4, err)
	}
	return g, nil
}

// config builds the engine configuration; it also hands the Treeknorm of
// the published kinds to the exceeds-norm search parameter.
func (m *mediationFlags) config(regions *mediation.Regions) (engine.Config, error) {
	cfg := engine.DefaultConfig()
	cfg.Regions = regions
	var err error
	if cfg.Geo, err = m.geo(); err != nil {
		return cfg, err
	}
	if m.treeknorm != "" {
		b, err := readFlagFile("treeknorm", m.treeknorm)
		if err != nil {
			return cfg, err
		}
		if cfg.Norms, err = mediation.LoadNorms(b); err != nil {
			return cfg, usagef("--treeknorm %s: %v", m.treeknorm, err)
		}
	}
	if m.providerKinds != "" {
		b, err := readFlagFile("provider-kinds", m.providerKinds)
		if err != nil {
			return cfg, err
		}
		if cfg.Kinds, err = mediation.LoadProviderKinds(b); err != nil {
			return cfg, usagef("--provider-kinds %s: %v", m.providerKinds, err)
		}
	}
	if m.ranking != "" {
		b, err := readFlagFile("ranking", m.ranking)
		if err != nil {
			return cfg, err
		}
		if err := json.Unmarshal(b, &cfg.Ranking); err != nil {
			return cfg, usagef("--ranking %s: %v", m.ranking, err)
		}
		if cfg.Ranking.PerDayGained < 0 || cfg.Ranking.PerKm < 0 || cfg.Ranking.Contracted < 0 {
			return cfg, usagef("--ranking %s: weights must not be negative", m.ranking)
		}
	}
	conformance.SetPublishedNorms(map[string]int{
		mediation.KindOutpatient:  cfg.Norms.Days(mediation.KindOutpatient, ""),
		mediation.KindDiagnostics: cfg.Norms.Days(mediation.KindDiagnostics, ""),
		mediation.KindTreatment:   cfg.Norms.Days(mediation.KindTreatment, ""),
	})
	return cfg, nil
}
