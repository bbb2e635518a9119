package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/fhirjson"
)

// Mapper maps one source's resources.
type Mapper struct {
	// Key is the deployment key ids are derived with.
	Key []byte
	// Namespace is the source's id namespace (default: Base).
	Namespace string
	// Base is the source's FHIR base URL (absolute references under it
	// point into the source).
	Base string
	// SyncTime goes into lastSourceSync.
	SyncTime time.Time
}

// Resource is one mapped resource.
type Resource struct {
	Type, ID string
	// SourceID is the resource's id at the source.
	SourceID string
	// VersionKey identifies the source version (see the package doc).
	VersionKey string
	// LastUpdated is the source's meta.lastUpdated (zero when absent or not
	// an instant).
	LastUpdated time.Time
	// Tree is the mapped resource.
	Tree *fhirjson.Value
}

// ns returns the namespace, with no trailing slash.
func (m *Mapper) ns() string {
	if m.Namespace != "" {
		return strings.TrimSuffix(m.Namespace, "/")
	}
	return strings.TrimSuffix(m.Base, "/")
}

// ID returns the gateway id of the source's resource typ/id.
func (m *Mapper) ID(typ, sourceID string) string {
	return ww.DeriveID(m.Key, typ, m.ns(), sourceID)
}

// Error is a resource that cannot be mapped.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errf(format string, args ...any) error { return &Error{fmt.Sprintf(format, args...)} }

// Map maps a parsed resource (the tree is changed in place and returned in
// the result).
func (m *Mapper) Map(tree *fhirjson.Value) (*Resource, error) {
	if tree == nil || tree.Kind != fhirjson.Object {
		return nil, errf("a resource must be a JSON object")
	}
	typ := tree.GetStr("resourceType")
	if typ == "" || !isTypeName(typ) {
		return nil, errf("the resource has no valid resourceType")
	}
	sid := tree.GetStr("id")
	if !ww.ValidID(sid) {
		return nil, errf("the %s has no valid id", typ)
	}
	r := &Resource{Type: typ, SourceID: sid, ID: m.ID(typ, sid), Tree: tree}
	raw := tree.Bytes()
	meta := tree.Get("meta")
	if meta != nil && meta.Kind == fhirjson.Object {
		vid := meta.GetStr("versionId")
		lu := meta.GetStr("lastUpdated")
		if t, err := time.Parse(time.RFC3339Nano, lu); err == nil {
			r.LastUpdated = t.UTC()
		}
		switch {
		case vid != "":
			r.VersionKey = "v" + vid
		case lu != "":
			r.VersionKey = "t" + lu
		}
		meta.Delete("versionId")
		meta.Delete("lastUpdated")
	}
	if r.VersionKey == "" {
		sum := sha256.Sum256(raw)
		r.VersionKey = "h" + hex.EncodeToString(sum[:12])
	}
	tree.Set("id", fhirjson.NewString(r.ID))
	m.rewriteRefs(tree)
	m.stampMeta(tree, typ, sid)
	return r, nil
}

// Ref maps a reference string; ok is false when it is kept as it is.
func (m *Mapper) Ref(ref string) (string, bool) {
	rel := ref
	if base := strings.TrimSuffix(m.Base, "/"); base != "" && strings.HasPrefix(ref, base+"/") {
		rel = ref[len(base)+1:]
	} else if strings.Contains(ref, "://") || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
		return ref, false
	}
	typ, rest, found := strings.Cut(rel, "/")
	if !found || !isTypeName(typ) {
		return ref, false
	}
	id, _, _ := strings.Cut(rest, "/_history/")
	if !ww.ValidID(id) || strings.Contains(id, "/") || strings.Contains(id, "?") {
		return ref, false
	}
	return typ + "/" + m.ID(typ, id), true
}

// rewriteRefs rewrites every "reference" member of an object that sits
// where a Reference does (any object with a string "reference"), contained
// resources included.
func (m *Mapper) rewriteRefs(v *fhirjson.Value) {
	switch v.Kind {
	case fhirjson.Object:
		for i := range v.Members {
			mem := &v.Members[i]
			if mem.Key == "reference" && mem.Value.Kind == fhirjson.String {
				if s, ok := mem.Value.Str(); ok {
					if nr, changed := m.Ref(s); changed {
						mem.Value = fhirjson.NewString(nr)
					}
				}
				continue
			}
			m.rewriteRefs(mem.Value)
		}
	case fhirjson.Array:
		for _, it := range v.Items {
			m.rewriteRefs(it)
		}
	}
}

func (m *Mapper) stampMeta(tree *fhirjson.Value, typ, sid string) {
	meta := tree.Get("meta")
	if meta == nil || meta.Kind != fhirjson.Object {
		meta = fhirjson.NewObject()
		tree.SetFirst(2, "meta", meta)
	}
	if base := strings.TrimSuffix(m.Base, "/"); base != "" && strings.Contains(base, "://") {
		meta.Set("source", fhirjson.NewString(base+"/"+typ+"/"+sid))
	}
	SetLastSourceSync(meta, m.SyncTime)
}

// SetLastSourceSync sets (or replaces) the lastSourceSync extension of a
// meta object.
func SetLastSourceSync(meta *fhirjson.Value, t time.Time) {
	ext := meta.Get("extension")
	if ext == nil || ext.Kind != fhirjson.Array {
		ext = fhirjson.NewArray()
		meta.Set("extension", ext)
	}
	items := ext.Items[:0]
	for _, it := range ext.Items {
		if it.Kind == fhirjson.Object && it.GetStr("url") == ww.ExtLastSourceSync {
			continue
		}
		items = append(items, it)
	}
	e := fhirjson.NewObject()
	e.Set("url", fhirjson.NewString(ww.ExtLastSourceSync))
	e.Set("valueDateTime", fhirjson.NewString(t.UTC().Format("2006-01-02T15:04:05.000Z07:00")))
	ext.Items = append(items, e)
}

// LastSourceSync reads the lastSourceSync extension of a resource (zero when
// absent).
func LastSourceSync(tree *fhirjson.Value) time.Time {
	meta := tree.Get("meta")
	if meta == nil {
		return time.Time{}
	}
	ext := meta.Get("extension")
	if ext == nil || ext.Kind != fhirjson.Array {
		return time.Time{}
	}
	for _, it := range ext.Items {
		if it.Kind == fhirjson.Object && it.GetStr("url") == ww.ExtLastSourceSync {
			t, _ := time.Parse(time.RFC3339Nano, it.GetStr("valueDateTime"))
			return t
		}
	}
	return time.Time{}
}

// SourceRef is the provenance reference of a mapped version,
// "Type/sourceId/_history/<version key>".
func (r *Resource) SourceRef() string {
	return r.Type + "/" + r.SourceID + "/_history/" + r.VersionKey
}

func isTypeName(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
