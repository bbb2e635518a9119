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
// read beside the search indexes, each a pure function of the resource. A
// free Slot gets its start in the free-capacity index of its Schedule and
// own specialism (~fs:<schedule>:<S>), the pair in the sticky registry ~fsk,
// and its start in the orders of all free Slots of its own specialism and
// of every specialism (~fsx:<S>, ~fsx:*; member "slot id\0schedule id").
// (Patients once got a member-key hash and set here, ~mk and ~mkp; nothing
// read them, since membership goes through the member projection. A
// generation written before keeps them until the next reindex.)
func (s *Store) mediationEntries(out []ixop, k keys, typ, id string, shard int, res *fhirjson.Value) []ixop {
	if typ != "Slot" {
		return out
	}
	sched, spec, ms, ok := freeSlot(res)
	if !ok {
		return out
	}
	score := strconv.FormatInt(ms, 10)
	m := id + "\x00" + sched // ties by slot id, the schedule along
	return append(out, ixop{kind: 'z', key: k.med("slotcap", "Slot", shard, "~fs", sched, spec), member: id, score: score},
		ixop{kind: 's', key: k.med("slotcap", "Slot", shard, "~fsk"), member: sched + "|" + spec, sticky: true},
		ixop{kind: 'z', key: k.med("slotcap", "Slot", shard, "~fsx", spec), member: m, score: score},
		ixop{kind: 'z', key: k.med("slotcap", "Slot", shard, "~fsx", "*"), member: m, score: score})
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
