package gen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// WriteNDJSON writes the world as FHIR NDJSON into dir (created if
// needed): one file per resource type, <Type>.ndjson, one minified
// resource per line, in Generate's order. It returns the number of
// resources per type.
func WriteNDJSON(dir string, cfg Config) (map[string]int, error) {
	w, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return w.WriteNDJSON(dir)
}

// WriteNDJSON writes the world as NDJSON (see the package function).
func (w *World) WriteNDJSON(dir string) (map[string]int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	counts := map[string]int{}
	var (
		cur  string
		f    *os.File
		bw   *bufio.Writer
		done = func() error {
			if f == nil {
				return nil
			}
			err := bw.Flush()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			f = nil
			return err
		}
	)
	err := w.Generate(SinkFunc(func(typ, id string, json []byte) error {
		if typ != cur {
			if err := done(); err != nil {
				return err
			}
			var err error
			f, err = os.Create(filepath.Join(dir, typ+".ndjson"))
			if err != nil {
				return err
			}
			bw = bufio.NewWriterSize(f, 1<<20)
			cur = typ
		}
		counts[typ]++
		bw.Write(json)
		return bw.WriteByte('\n')
	}))
	if cerr := done(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// WriteBundles writes the world as FHIR transaction Bundles into dir:
// bundle-00001.json, bundle-00002.json, …, each holding up to perBundle
// entries {"resource":…,"request":{"method":"PUT","url":"Type/id"}} in
// Generate's order, so loading the files in name order never references a
// resource not yet written. It returns the number of files.
func WriteBundles(dir string, cfg Config, perBundle int) (int, error) {
	w, err := New(cfg)
	if err != nil {
		return 0, err
	}
	return w.WriteBundles(dir, perBundle)
}

// WriteBundles writes transaction Bundles (see the package function).
func (w *World) WriteBundles(dir string, perBundle int) (int, error) {
	if perBundle < 1 {
		return 0, fmt.Errorf("gen: perBundle must be positive, got %d", perBundle)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	var (
		files   int
		entries int
		buf     = make([]byte, 0, 1<<20)
	)
	flush := func() error {
		if entries == 0 {
			return nil
		}
		buf = append(buf, "]}\n"...)
		files++
		entries = 0
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("bundle-%05d.json", files)), buf, 0o644)
	}
	err := w.Generate(SinkFunc(func(typ, id string, json []byte) error {
		if entries == 0 {
			buf = append(buf[:0], `{"resourceType":"Bundle","type":"transaction","entry":[`...)
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"resource":`...)
		buf = append(buf, json...)
		buf = append(buf, `,"request":{"method":"PUT","url":"`...)
		buf = append(buf, typ...)
		buf = append(buf, '/')
		buf = append(buf, id...)
		buf = append(buf, `"}}`...)
		entries++
		if entries == perBundle {
			return flush()
		}
		return nil
	}))
	if err == nil {
		err = flush()
	}
	return files, err
}
