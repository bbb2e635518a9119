package redisstore

import (
	"context"
	"testing"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// A guard counts the matches its principal may not see (ownerPolicy, in
// search_cases_test.go) as expected: they neither fail the guard (a
// conditional create over another organisation's resource creates) nor
// show; a change among what it sees still fails it.
func TestGuardsCountHiddenMatches(t *testing.T) {
	backendsWith(t, Options{Policy: ownerPolicy{}}, func(t *testing.T, s *Store) {
		ctx := context.Background()
		as := func(org string) context.Context {
			return ww.WithPrincipal(ctx, &ww.Principal{Role: ww.RoleHospital, ClientID: org, Organization: org})
		}
		put := func(ctx context.Context, id, owner string, guards ...ww.Guard) error {
			_, err := s.Commit(ctx, &ww.Commit{Guards: guards, Writes: []ww.Write{{Op: ww.OpUpdate, Type: "Patient", ID: id,
				JSON: patient(id, "999911120", "Jansen"), Provenance: ww.Provenance{Owner: owner, Channel: ww.ChannelREST}}}})
			return err
		}
		byBSN := []ww.Clause{{Param: "identifier", Values: []string{ww.SystemBSN + "|999911120"}}}
		if err := put(ctx, "pOne", "06020502"); err != nil {
			t.Fatal(err)
		}
		two := as("06010101")
		if err := put(two, "pTwo", "06010101", ww.Guard{Type: "Patient", Criteria: byBSN}); err != nil {
			t.Fatalf("a create guarded by criteria only another organisation's Patient matches: %v", err)
		}
		if err := put(two, "pThree", "06010101", ww.Guard{Type: "Patient", Criteria: byBSN}); !ww.IsKind(err, ww.KindConflict) {
			t.Fatalf("a guard that misses a match the principal sees: %v, want a conflict", err)
		}
		if err := put(two, "pThree", "06010101", ww.Guard{Type: "Patient", Criteria: byBSN, Expect: []string{"pTwo"}}); err != nil {
			t.Fatalf("a guard that holds: %v", err)
		}
		idOne := []ww.Clause{{Param: "_id", Values: []string{"pOne"}}}
		if err := put(two, "pFour", "06010101", ww.Guard{Type: "Patient", Criteria: idOne}); err != nil {
			t.Fatalf("a guard by the id of a hidden Patient: %v", err)
		}
		// unrestricted principals are checked as before
		if err := put(ctx, "pFive", "", ww.Guard{Type: "Patient", Criteria: byBSN}); !ww.IsKind(err, ww.KindConflict) {
			t.Fatalf("the system's guard over existing matches: %v, want a conflict", err)
		}
	})
}
