package redisinfo

import "testing"

func TestParse(t *testing.T) {
	s := Parse("# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:2.25\r\nused_cpu_sys_children:9\r\n\r\n# Commandstats\r\n" +
		"cmdstat_get:calls=10,usec=30,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_evalsha:calls=2,usec=80,usec_per_call=40.00\r\n")
	if s.CPU != 3.75 || s.Calls["get"] != 10 || s.Usec["get"] != 30 || s.Calls["evalsha"] != 2 || s.Usec["evalsha"] != 80 || len(s.Calls) != 2 {
		t.Fatalf("%+v", s)
	}
	s.Add(Parse("used_cpu_user:1\r\ncmdstat_get:calls=1,usec=2\r\n"))
	if s.CPU != 4.75 || s.Calls["get"] != 11 || s.Usec["get"] != 32 {
		t.Fatalf("after Add: %+v", s)
	}
}
