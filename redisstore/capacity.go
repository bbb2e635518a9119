package redisstore

import (
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/fhirtime"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// mediationEntries adds the per-resource entries the insurer operations
// read beside the search indexes, each a pure function of the resource:
//
//   - a Patient with a BSN: its member key (hash ~mk) and the set of
//     Patients per member key (~mkp:<mk>);
//   - a free Slot: its start in the free-capacity index of its Schedule and
//     own specialism (~fs:<schedule>:<S>), the pair in the sticky registry
//     ~fsk, and its start in the orders of all free Slots of its own
//     specialism and of every specialism (~fsx:<S>, ~fsx:*; member
//     "slot id\0schedule id").
func (s *Store) mediationEntries(out []ixop, k keys, typ, id string, shard int, res *fhirjson.Value) []ixop {
	switch typ {
	case "Patient":
		f := mediation.PatientFactsOf(res, nil)
		if f.BSN != "" {
			mk := ww.MemberKey(s.dkey, f.BSN)
			out = append(out, ixop{kind: 'h', key: k.index(typ, shard, "~mk"), member: id, score: mk},
				ixop{kind: 's', key: k.index(typ, shard, "~mkp", mk), member: id})
		}
	case "Slot":
		sched, spec, ms, ok := freeSlot(res)
		if ok {
			score := strconv.FormatInt(ms, 10)
			m := id + "\x00" + sched // ties by slot id, the schedule along
			out = append(out, ixop{kind: 'z', key: k.med("slotcap", "Slot", shard, "~fs", sched, spec), member: id, score: score},
				ixop{kind: 's', key: k.med("slotcap", "Slot", shard, "~fsk"), member: sched + "|" + spec, sticky: true},
				ixop{kind: 'z', key: k.med("slotcap", "Slot", shard, "~fsx", spec), member: m, score: score},
				ixop{kind: 'z', key: k.med("slotcap", "Slot", shard, "~fsx", "*"), member: m, score: score})
		}
	}
	return out
}

// freeSlot returns the schedule, own specialism (Slot.specialty, else a
// COD016 serviceType; "-" when none) and start of a free Slot.
func freeSlot(res *fhirjson.Value) (sched, spec string, ms int64, ok bool) {
	if res.GetStr("status") != "free" {
		return "", "", 0, false
	}
	typ, sid, _ := conformance.SplitReference(res.Get("schedule").GetStr("reference"))
	if typ != "Schedule" || sid == "" {
		return "", "", 0, false
	}
	v, err := fhirtime.Parse(res.GetStr("start"), fhirtime.Instant, ww.Amsterdam)
	if err != nil {
		return "", "", 0, false
	}
	spec = mediation.SpecialismOf(res.Get("specialty"))
	if spec == "" {
		spec = mediation.SpecialismOf(res.Get("serviceType"))
	}
	return sid, orDash(spec), v.T.UnixMilli(), true
}
