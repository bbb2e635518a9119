package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseKeepsLiteralsAndOrder(t *testing.T) {
	src := `{
  "resourceType": "Appointment",
  "id": "a1",
  "_status": {"extension": [{"url": "http://x", "valueDecimal": 1.000000000000000000001}]},
  "status": "booked",
  "contained": [{"resourceType": "Practitioner", "id": "p"}],
  "comment": "caf\u00e9 \"quoted\" <b>&",
  "minutesDuration": 1e2
}`
	v, err := Parse([]byte(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := string(v.Bytes())
	want := `{"resourceType":"Appointment","id":"a1","_status":{"extension":[{"url":"http://x","valueDecimal":1.000000000000000000001}]},"status":"booked","contained":[{"resourceType":"Practitioner","id":"p"}],"comment":"caf\u00e9 \"quoted\" <b>&","minutesDuration":1e2}`
	if got != want {
		t.Fatalf("round trip changed bytes:\n got %s\nwant %s", got, want)
	}
	if s, _ := v.Get("comment").Str(); s != `café "quoted" <b>&` {
		t.Fatalf("decoded comment = %q", s)
	}
}

func TestParseErrorsNameLineAndColumn(t *testing.T) {
	cases := []struct {
		name, src, msg string
		line, col      int
	}{
		{"missing comma", "{\n  \"a\": 1\n  \"b\": 2\n}", "expected ',' or '}'", 3, 3},
		{"duplicate member", `{"id":"1","id":"2"}`, `duplicate member "id"`, 1, 11},
		{"trailing data", `{} x`, "after the end of the document", 1, 4},
		{"control char", "{\"a\":\"x\ty\"}", "control character", 1, 8},
		{"bad escape", `{"a":"\q"}`, "invalid escape", 1, 7},
		{"bad number", `{"a":01}`, "expected ',' or '}'", 1, 7},
		{"empty", ``, "empty document", 1, 1},
		{"unterminated", `{"a":"abc`, "unterminated string", 1, 6},
		{"invalid utf8", "{\"a\":\"\xff\"}", "invalid UTF-8", 1, 7},
		{"bare word", `{"a":tru}`, "invalid literal", 1, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.src), Limits{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want SyntaxError, got %v", err)
			}
			if !strings.Contains(se.Msg, c.msg) || se.Line != c.line || se.Column != c.col {
				t.Fatalf("got %q at %d:%d, want %q at %d:%d", se.Msg, se.Line, se.Column, c.msg, c.line, c.col)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("[", 10) + strings.Repeat("]", 10)
	if _, err := Parse([]byte(deep), Limits{MaxDepth: 5}); err == nil || !strings.Contains(err.Error(), "nesting deeper than 5") {
		t.Fatalf("depth limit: %v", err)
	}
	if _, err := Parse([]byte(`[1,2,3,4]`), Limits{MaxItems: 3}); err == nil || !strings.Contains(err.Error(), "more than 3 elements") {
		t.Fatalf("items limit: %v", err)
	}
}

func TestSetFirstAndDelete(t *testing.T) {
	v, _ := Parse([]byte(`{"status":"x","id":"old","resourceType":"Slot"}`), Limits{})
	v.SetFirst(0, "resourceType", NewString("Slot"))
	v.SetFirst(1, "id", NewString("new"))
	v.SetFirst(2, "meta", NewObject())
	v.Delete("status")
	if got := string(v.Bytes()); got != `{"resourceType":"Slot","id":"new","meta":{}}` {
		t.Fatal(got)
	}
}

func TestAppendQuotedMatchesDecoder(t *testing.T) {
	for _, s := range []string{"", "plain", "tab\there", "quote\"back\\slash", "ünïcode ✓", "\x01ctl", "<&>", "bad\xffutf8"} {
		raw := AppendQuoted(nil, s)
		var back string
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Fatalf("%q came back as %q", s, back)
		}
		v, err := Parse(raw, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := v.Str(); got != want {
			t.Fatalf("Str %q != %q", got, want)
		}
	}
}

func TestSurrogatePairs(t *testing.T) {
	v, err := Parse([]byte(`"\ud83d\ude00 and \u00e9"`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := v.Str(); s != "😀 and é" {
		t.Fatalf("%q", s)
	}
}

// FuzzParse checks that Parse never panics, accepts only valid JSON, and
// that what it writes back means the same as what it read.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,2.5e-3,"x\u00e9",true,null,{"b":{}}]}`, `"\ud800"`, `{"a":1,"a":2}`, `-0.0E+1`, "\ufeff{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		v, err := Parse(src, Limits{MaxDepth: 50})
		if err != nil {
			return
		}
		body := bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", src)
		}
		out := v.Bytes()
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("wrote invalid JSON %q", out)
		}
		var a, b any
		da := json.NewDecoder(bytes.NewReader(body))
		da.UseNumber()
		db := json.NewDecoder(bytes.NewReader(out))
		db.UseNumber()
		if da.Decode(&a) != nil || db.Decode(&b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed meaning: %q -> %q", src, out)
		}
	})
}

// FuzzAppendMarshaled: any string is written as encoding/json writes it.
func FuzzAppendMarshaled(f *testing.F) {
	for _, s := range []string{"", "a", "ww:{Appointment.07}:x1:date:w", "Zoë", "a<b>&c", "line\nbreak\t\r", "\x00\x1f\x7f",
		"quote\" back\\slash", "\u2028\u2029", "bad \xff utf8", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendMarshaled(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendMarshaled(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}
