package redisstore

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// record is a stored version: header fields and the resource JSON.
type record struct {
	vid     int64
	txid    string
	ms      int64
	deleted bool
	prov    ww.Provenance
	// srcLo is the lower bound of the source time (Unix ms; 0: none).
	srcLo int64
	json  []byte
}

func clean(s string) string {
	if strings.ContainsAny(s, "\t\n") {
		return strings.NewReplacer("\t", " ", "\n", " ").Replace(s)
	}
	return s
}

// encode returns the record in its stored form.
func (r *record) encode() []byte {
	b := make([]byte, 0, len(r.json)+96)
	b = append(b, 'v')
	b = strconv.AppendInt(b, r.vid, 10)
	b = append(b, '\t')
	b = append(b, r.txid...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, r.ms, 10)
	b = append(b, '\t')
	if r.deleted {
		b = append(b, 'd')
	}
	b = append(b, '\t')
	b = append(b, clean(r.prov.Owner)...)
	b = append(b, '\t')
	b = append(b, clean(string(r.prov.Channel))...)
	b = append(b, '\t')
	b = append(b, clean(r.prov.Source)...)
	b = append(b, '\t')
	if r.srcLo != 0 {
		b = strconv.AppendInt(b, r.srcLo, 10)
	}
	b = append(b, '\n')
	return append(b, r.json...)
}

// decodeRecord parses a stored record. The returned JSON aliases raw.
func decodeRecord(raw []byte) (*record, error) {
	nl := bytes.IndexByte(raw, '\n')
	if nl < 0 || len(raw) < 2 || raw[0] != 'v' {
		return nil, fmt.Errorf("corrupt version record")
	}
	// Seven fields, or eight since the source time was added (records
	// written before keep seven).
	f := bytes.SplitN(raw[1:nl], []byte{'\t'}, 8)
	if len(f) != 7 && len(f) != 8 {
		return nil, fmt.Errorf("corrupt version record header")
	}
	var srcLo int64
	if len(f) == 8 && len(f[7]) > 0 {
		var err error
		if srcLo, err = strconv.ParseInt(string(f[7]), 10, 64); err != nil {
			return nil, fmt.Errorf("corrupt source time: %w", err)
		}
	}
	vid, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("corrupt version id: %w", err)
	}
	ms, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("corrupt lastUpdated: %w", err)
	}
	return &record{
		vid:     vid,
		txid:    string(f[1]),
		ms:      ms,
		deleted: bytes.IndexByte(f[3], 'd') >= 0,
		prov:    ww.Provenance{Owner: string(f[4]), Channel: ww.Channel(f[5]), Source: string(f[6])},
		srcLo:   srcLo,
		json:    raw[nl+1:],
	}, nil
}

func (r *record) resource(typ, id string) *ww.Resource {
	res := &ww.Resource{
		Type: typ, ID: id, VersionID: r.vid,
		LastUpdated: time.UnixMilli(r.ms).UTC(),
		Deleted:     r.deleted, JSON: r.json, Provenance: r.prov,
	}
	if r.srcLo != 0 {
		res.SourceTime = time.UnixMilli(r.srcLo).UTC()
	}
	return res
}
