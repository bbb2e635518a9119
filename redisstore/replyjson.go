package redisstore

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// decodeSearchReply reads the search script's JSON reply into what
// json.Unmarshal would make of it, without reflection: the reply of a
// 16-shard call is read on every search. Anything it does not expect (a
// field of the wrong kind, invalid JSON) is handed to json.Unmarshal, so
// the two never disagree.
func decodeSearchReply(b []byte) (searchReply, error) {
	p := replyParser{b: b}
	var r searchReply
	err := errReplyShape
	if json.Valid(b) {
		r, err = p.reply()
	}
	if err == nil {
		p.ws()
		if p.i != len(p.b) {
			err = errReplyShape
		}
	}
	if err != nil {
		var slow searchReply
		if err := json.Unmarshal(b, &slow); err != nil {
			return searchReply{}, err
		}
		return slow, nil
	}
	return r, nil
}

var (
	replyFields = []string{"stale", "shards"}
	shardFields = []string{"m", "n", "done", "resume", "pending", "over", "est", "drv", "how", "work"}
)

// foldsTo reports whether encoding/json might match key to one of fields
// (it matches names case-insensitively, with Unicode folding): such a key
// goes to json.Unmarshal.
func foldsTo(key string, fields []string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= 0x80 {
			return true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(key, f) {
			return true
		}
	}
	return false
}

// errReplyShape sends a reply to json.Unmarshal.
var errReplyShape = errors.New("redisstore: unexpected search reply shape")

type replyParser struct {
	b []byte
	i int
}

func (p *replyParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (p *replyParser) peek() byte {
	p.ws()
	if p.i >= len(p.b) {
		return 0
	}
	return p.b[p.i]
}

func (p *replyParser) lit(s string) error {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return errReplyShape
	}
	p.i += len(s)
	return nil
}

// begin reads a container's open byte; empty says it closed at once ({}
// may also stand for an empty array: cjson writes an empty table so).
func (p *replyParser) begin(open, close byte) (empty bool, err error) {
	if p.peek() != open {
		return false, errReplyShape
	}
	p.i++
	if p.peek() == close {
		p.i++
		return true, nil
	}
	return false, nil
}

// more reads the separator after an item: true after a comma, false at the
// close byte.
func (p *replyParser) more(close byte) (bool, error) {
	switch p.peek() {
	case ',':
		p.i++
		return true, nil
	case close:
		p.i++
		return false, nil
	}
	return false, errReplyShape
}

// key reads a member's name and its colon. The name's bytes are the
// input's own (a plain name) or decoded: they are read before the parser
// moves on.
func (p *replyParser) key() ([]byte, error) {
	raw, plain, err := p.strBytes()
	if err != nil {
		return nil, err
	}
	if !plain {
		s, err := unquote(raw)
		if err != nil {
			return nil, err
		}
		raw = []byte(s)
	}
	if p.peek() != ':' {
		return nil, errReplyShape
	}
	p.i++
	return raw, nil
}

// members calls field for each member of an object, with its name.
func (p *replyParser) members(field func(k []byte) error) error {
	empty, err := p.begin('{', '}')
	for more := !empty; err == nil && more; {
		var k []byte
		if k, err = p.key(); err == nil {
			if err = field(k); err == nil {
				more, err = p.more('}')
			}
		}
	}
	return err
}

// elements calls elem for each element of an array.
func (p *replyParser) elements(elem func() error) error {
	empty, err := p.begin('[', ']')
	for more := !empty; err == nil && more; {
		if err = elem(); err == nil {
			more, err = p.more(']')
		}
	}
	return err
}

// str reads a string; one with escapes is decoded by encoding/json.
func (p *replyParser) str() (string, error) {
	raw, plain, err := p.strBytes()
	if err != nil || plain {
		return string(raw), err
	}
	return unquote(raw)
}

// unquote decodes a quoted string strBytes could not hand over as it is.
func unquote(raw []byte) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errReplyShape
	}
	return s, nil
}

// strBytes reads a string: with plain, its content (no escapes, ASCII);
// else the whole quoted string, for encoding/json to decode.
func (p *replyParser) strBytes() (raw []byte, plain bool, err error) {
	if p.peek() != '"' {
		return nil, false, errReplyShape
	}
	start := p.i
	p.i++
	escaped := false
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			if !escaped {
				return p.b[start+1 : p.i-1], true, nil
			}
			return p.b[start:p.i], false, nil
		case c == '\\':
			escaped = true
			p.i += 2
		case c < 0x20:
			return nil, false, errReplyShape
		case c >= 0x80:
			escaped = true // encoding/json replaces invalid UTF-8
			p.i++
		default:
			p.i++
		}
	}
	return nil, false, errReplyShape
}

// number returns the bytes of a number.
func (p *replyParser) number() ([]byte, error) {
	p.ws()
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	if p.i == start {
		return nil, errReplyShape
	}
	return p.b[start:p.i], nil
}

func (p *replyParser) int() (int, error) {
	if p.peek() == 'n' {
		return 0, p.lit("null")
	}
	n, err := p.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(string(n))
	if err != nil {
		return 0, errReplyShape
	}
	return v, nil
}

func (p *replyParser) bool() (bool, error) {
	switch p.peek() {
	case 't':
		return true, p.lit("true")
	case 'f':
		return false, p.lit("false")
	case 'n':
		return false, p.lit("null")
	}
	return false, errReplyShape
}

// optStr reads a string or null.
func (p *replyParser) optStr() (string, error) { return p.known(nil) }

// skip passes over any value and returns its bytes.
func (p *replyParser) skip() ([]byte, error) {
	p.ws()
	start := p.i
	var err error
	switch c := p.peek(); {
	case c == '{':
		err = p.members(func([]byte) error { _, err := p.skip(); return err })
	case c == '[':
		err = p.elements(func() error { _, err := p.skip(); return err })
	case c == '"':
		_, err = p.str()
	case c == 't':
		err = p.lit("true")
	case c == 'f':
		err = p.lit("false")
	case c == 'n':
		err = p.lit("null")
	default:
		_, err = p.number()
	}
	return p.b[start:p.i], err
}

// hows are the usual values of a shard's "how".
var hows = []string{"collect", "walk", "merge", "count", "+missing-collect", "+missing-walk",
	"walk+missing-collect", "walk+missing-walk"}

// known reads a string or null, returning one of known without a copy
// when it is one of them (with none, a copy of any).
func (p *replyParser) known(known []string) (string, error) {
	if p.peek() == 'n' {
		return "", p.lit("null")
	}
	raw, plain, err := p.strBytes()
	if err != nil {
		return "", err
	}
	if !plain {
		return unquote(raw)
	}
	for _, k := range known {
		if string(raw) == k {
			return k, nil
		}
	}
	return string(raw), nil
}

// unknown passes over the value of a member named k, not one of fields;
// one encoding/json might take for a field goes to json.Unmarshal.
func (p *replyParser) unknown(k string, fields []string) error {
	if foldsTo(k, fields) {
		return errReplyShape
	}
	_, err := p.skip()
	return err
}

// cell reads one element of a match row as encoding/json would into an
// interface: a string, nil or a float64.
func (p *replyParser) cell() (any, error) {
	switch c := p.peek(); {
	case c == '"':
		return p.str()
	case c == 'n':
		return nil, p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return nil, errReplyShape
		}
		return f, nil
	}
	return nil, errReplyShape
}

func (p *replyParser) rows() (rows, error) {
	switch p.peek() {
	case '{':
		_, err := p.skip()
		return nil, err
	case 'n':
		return nil, p.lit("null")
	}
	out := rows{}
	err := p.elements(func() error {
		switch p.peek() {
		case 'n':
			out = append(out, nil)
			return p.lit("null")
		case '[':
			row, err := p.row()
			out = append(out, row)
			return err
		}
		// an empty row written as {}: encoding/json cannot read it into a
		// slice either
		return errReplyShape
	})
	return out, err
}

// row reads one match row.
func (p *replyParser) row() ([]any, error) {
	row := []any{}
	err := p.elements(func() error {
		v, err := p.cell()
		row = append(row, v)
		return err
	})
	return row, err
}

func (p *replyParser) shard() (*shardReply, error) {
	if p.peek() == 'n' {
		return nil, p.lit("null")
	}
	r := &shardReply{}
	err := p.members(func(k []byte) error {
		var err error
		switch string(k) {
		case "m":
			r.M, err = p.rows()
		case "n":
			r.N, err = p.int()
		case "done":
			r.Done, err = p.bool()
		case "resume":
			var raw []byte
			if raw, err = p.skip(); err == nil {
				r.Resume = append(json.RawMessage(nil), raw...)
			}
		case "pending":
			r.Pending, err = p.bool()
		case "over":
			r.Over, err = p.optStr()
		case "est":
			r.Est, err = p.int()
		case "drv":
			r.Drv, err = p.int()
		case "how":
			r.How, err = p.known(hows)
		case "work":
			r.Work, err = p.int()
		default:
			err = p.unknown(string(k), shardFields)
		}
		return err
	})
	return r, err
}

func (p *replyParser) reply() (searchReply, error) {
	var r searchReply
	err := p.members(func(k []byte) error {
		var err error
		switch string(k) {
		case "stale":
			r.Stale, err = p.bool()
		case "shards":
			r.Shards, err = p.shards()
		default:
			err = p.unknown(string(k), replyFields)
		}
		return err
	})
	return r, err
}

// shards reads the list of shard replies.
func (p *replyParser) shards() ([]*shardReply, error) {
	if p.peek() == 'n' {
		return nil, p.lit("null")
	}
	out := []*shardReply{}
	err := p.elements(func() error {
		s, err := p.shard()
		out = append(out, s)
		return err
	})
	return out, err
}
