package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/conformance"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
	"github.com/wachtwijzer/wachtwijzer/mediation"
)

// ReportQuery is a parsed $mediation-report request.
type ReportQuery struct {
	Insurer  string        // UZOVI; "" for every insurer
	From, To mediation.Day // requested on or after From, on or before To (NoDay: open)
	Period   string        // month, quarter or year
}

// ReportRow is one period × specialism of the mediation report.
type ReportRow struct {
	Period                                      string
	Start, End                                  mediation.Day
	Specialism                                  string
	Requested, InProgress, Completed, Cancelled int
	DaysGained                                  int
}

// PeriodOf returns the label and bounds of the period a day falls in.
func PeriodOf(d mediation.Day, period string) (string, mediation.Day, mediation.Day) {
	t := d.Date()
	y, m := t.Year(), int(t.Month())
	first := func(y, m int) mediation.Day {
		v, _ := mediation.ParseDay(fmt.Sprintf("%04d-%02d-01", y, m))
		return v
	}
	switch period {
	case "year":
		return strconv.Itoa(y), first(y, 1), first(y+1, 1) - 1
	case "quarter":
		q := (m-1)/3 + 1
		end := first(y, q*3+1) - 1
		if q == 4 {
			end = first(y+1, 1) - 1
		}
		return fmt.Sprintf("%d-Q%d", y, q), first(y, (q-1)*3+1), end
	}
	end := first(y, m+1) - 1
	if m == 12 {
		end = first(y+1, 1) - 1
	}
	return fmt.Sprintf("%04d-%02d", y, m), first(y, m), end
}

// MediationReport counts mediation Tasks (code mediation) per period of
// their authoredOn and specialism of their focus wait, with the days gained
// of the completed ones.
func (e *Engine) MediationReport(ctx context.Context, q *ReportQuery) ([]*ReportRow, error) {
	var owners map[string]bool
	if q.Insurer != "" {
		snap, err := e.Directory(ctx)
		if err != nil {
			return nil, err
		}
		owners = map[string]bool{}
		for k := range snap.Dir.InsurerKeys(q.Insurer) {
			owners[k] = true
		}
	}
	type task struct {
		status, focus string
		day           mediation.Day
		gained        int
	}
	var tasks []task
	query := &ww.Query{Type: "Task", Count: 1000, Clauses: []ww.Clause{{Param: "code", Values: []string{mediation.SystemTaskCode + "|" + mediation.TaskCodeMediation}}}}
	for {
		res, err := e.store.Search(ctx, query)
		if err != nil {
			return nil, err
		}
		for _, r := range res.Resources {
			v, err := fhirjson.Parse(r.JSON, fhirjson.Limits{MaxDepth: 200})
			if err != nil {
				continue
			}
			if owners != nil && !ownedBy(v.Get("owner"), owners, q.Insurer) {
				continue
			}
			d, ok := mediation.DayOfFHIR(v.GetStr("authoredOn"))
			if !ok {
				continue
			}
			if q.From != mediation.NoDay && d < q.From || q.To != mediation.NoDay && d > q.To {
				continue
			}
			t := task{status: v.GetStr("status"), day: d}
			if typ, id, _ := conformance.SplitReference(v.Get("focus").GetStr("reference")); typ == "ServiceRequest" {
				t.focus = id
			}
			t.gained = DaysGainedOf(v)
			tasks = append(tasks, t)
		}
		if res.Next == nil || len(res.Resources) == 0 {
			break
		}
		query.After = res.Next
	}
	var focus []string
	seen := map[string]bool{}
	for _, t := range tasks {
		if t.focus != "" && !seen[t.focus] {
			seen[t.focus] = true
			focus = append(focus, t.focus)
		}
	}
	spec := map[string]string{}
	for i := 0; i < len(focus); i += 500 {
		j := min(i+500, len(focus))
		recs, err := e.index.Waits(ctx, focus[i:j])
		if err != nil {
			return nil, err
		}
		for k, r := range recs {
			if r != nil && r.SR != nil {
				spec[focus[i+k]] = r.SR.Specialism
			}
		}
	}
	rows := map[string]*ReportRow{}
	for _, t := range tasks {
		label, start, end := PeriodOf(t.day, q.Period)
		sp := spec[t.focus]
		if sp == "" {
			sp = "-"
		}
		k := label + "|" + sp
		r := rows[k]
		if r == nil {
			r = &ReportRow{Period: label, Start: start, End: end, Specialism: sp}
			rows[k] = r
		}
		switch t.status {
		case mediation.TaskRequested:
			r.Requested++
		case mediation.TaskInProgress:
			r.InProgress++
		case mediation.TaskCompleted:
			r.Completed++
			r.DaysGained += t.gained
		case mediation.TaskCancelled:
			r.Cancelled++
		}
	}
	out := make([]*ReportRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].Specialism < out[j].Specialism
	})
	return out, nil
}

func ownedBy(owner *fhirjson.Value, keys map[string]bool, uzovi string) bool {
	if owner == nil {
		return false
	}
	if typ, id, _ := conformance.SplitReference(owner.GetStr("reference")); typ == "Organization" && keys["org:"+id] {
		return true
	}
	if ident := owner.Get("identifier"); ident != nil && ident.GetStr("system") == ww.SystemUZOVI && ident.GetStr("value") == uzovi {
		return true
	}
	return false
}

// DaysGainedOf reads a mediation Task's days-gained output (0 when absent).
func DaysGainedOf(task *fhirjson.Value) int {
	out := task.Get("output")
	if out == nil || out.Kind != fhirjson.Array {
		return 0
	}
	for _, o := range out.Items {
		if !hasCoding(o.Get("type"), mediation.SystemTaskOutput, mediation.OutputDaysGained) {
			continue
		}
		if n := o.Get("valueInteger"); n != nil && n.Kind == fhirjson.Number {
			v, _ := strconv.Atoi(string(n.Raw))
			return v
		}
	}
	return 0
}

func hasCoding(cc *fhirjson.Value, system, code string) bool {
	if cc == nil {
		return false
	}
	cs := cc.Get("coding")
	if cs == nil || cs.Kind != fhirjson.Array {
		return false
	}
	for _, c := range cs.Items {
		if c.GetStr("system") == system && c.GetStr("code") == code {
			return true
		}
	}
	return false
}
