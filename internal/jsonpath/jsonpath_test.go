package jsonpath

import (
	"encoding/json"
	"testing"
)

func TestGet(t *testing.T) {
	var r any
	json.Unmarshal([]byte(`{"participant":[{"actor":{"reference":"Patient/p1"}}],"status":"booked","n":1}`), &r)
	cases := []struct {
		path []any
		want any
	}{
		{[]any{"participant", 0, "actor", "reference"}, "Patient/p1"},
		{[]any{"participant", 1, "actor"}, nil},
		{[]any{"participant", -1}, nil},
		{[]any{"status", "x"}, nil},
		{[]any{"missing"}, nil},
		{[]any{"participant", 1.5}, nil},
	}
	for _, c := range cases {
		if got := Get(r, c.path...); got != c.want {
			t.Errorf("Get %v = %v, want %v", c.path, got, c.want)
		}
	}
	if Str(r, "status") != "booked" || Str(r, "n") != "" || len(List(r, "participant")) != 1 || List(r, "status") != nil {
		t.Error("Str/List")
	}
}
