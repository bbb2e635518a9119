package hl7ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	ww "github.com/wachtwijzer/wachtwijzer"
	"github.com/wachtwijzer/wachtwijzer/mappings/hl7v2"
	"github.com/wachtwijzer/wachtwijzer/mllp"
)

// Channels maps MLLP connections to the organisation they speak for: by the
// SHA-256 fingerprint of a verified client certificate (mutual TLS) or by
// source address range. It is the --mllp-channels file:
//
//	{
//	  "channels": [
//	    {"organization": "06011234", "cert_sha256": "hex of SHA-256(DER)"},
//	    {"organization": "06011234", "cidr": "10.20.0.0/16"},
//	    {"organization": "06019999", "cert_sha256": "…", "cidr": "10.30.1.7/32"}
//	  ]
//	}
//
// An entry matches when all it names matches (with both, the certificate
// must come from that range). Entries with a certificate win over
// address-only ones; among address-only entries the narrowest range wins.
// A connection matching no entry is refused. The organisation is the
// sender's AGB (7 digits get their leading 0 back) or another identifier
// exactly as MSH-4 carries it (a URA, say); every message on the connection
// must come from it (see CheckOrganization).
type Channels struct {
	entries []Channel
}

// Channel is one entry: Organization with CertSHA256 and/or CIDR (or a
// single address).
type Channel struct {
	Organization string `json:"organization"`
	CertSHA256   string `json:"cert_sha256,omitempty"`
	CIDR         string `json:"cidr,omitempty"`

	prefix netip.Prefix
	hasNet bool
}

// LoadChannels reads and checks a channels file.
func LoadChannels(path string) (*Channels, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mllp channels: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f struct {
		Channels []Channel `json:"channels"`
	}
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("mllp channels %s: %w", path, err)
	}
	c, err := NewChannels(f.Channels...)
	if err != nil {
		return nil, fmt.Errorf("mllp channels %s: %w", path, err)
	}
	return c, nil
}

// NewChannels checks the entries. At least one is needed.
func NewChannels(entries ...Channel) (*Channels, error) {
	if len(entries) == 0 {
		return nil, errors.New("no channels: give at least one, or no channels file (then every connection is accepted)")
	}
	c := &Channels{}
	seen := map[string]string{}
	for i, e := range entries {
		e.Organization = normalizeOrg(e.Organization)
		if e.Organization == "" {
			return nil, fmt.Errorf("channel %d: organization is empty", i+1)
		}
		if e.CertSHA256 == "" && e.CIDR == "" {
			return nil, fmt.Errorf("channel %d (%s): give cert_sha256 and/or cidr", i+1, e.Organization)
		}
		if e.CertSHA256 != "" {
			fp := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(e.CertSHA256), ":", ""))
			if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("channel %d (%s): cert_sha256 must be 64 hex digits (SHA-256 of the certificate's DER)", i+1, e.Organization)
			}
			e.CertSHA256 = fp
		}
		if e.CIDR != "" {
			p, err := parsePrefix(strings.TrimSpace(e.CIDR))
			if err != nil {
				return nil, fmt.Errorf("channel %d (%s): cidr %q: %w", i+1, e.Organization, e.CIDR, err)
			}
			e.prefix, e.hasNet = p, true
		}
		key := e.CertSHA256 + "|" + e.prefix.String()
		if org, dup := seen[key]; dup && org != e.Organization {
			return nil, fmt.Errorf("channel %d: the same certificate and range are mapped to %s and %s", i+1, org, e.Organization)
		}
		seen[key] = e.Organization
		c.entries = append(c.entries, e)
	}
	return c, nil
}

// parsePrefix reads a CIDR or a single address (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// normalizeOrg trims an organisation identifier and gives a 7-digit AGB its
// leading 0 back.
func normalizeOrg(s string) string {
	s = strings.TrimSpace(s)
	if a, ok := ww.NormalizeAGB(s); ok {
		return a
	}
	return s
}

// Admit is the mllp.Options.Admit of the MLLP listener: the organisation of
// the best matching entry, or an error naming what did not match (never the
// whole certificate).
func (c *Channels) Admit(ci *mllp.ConnInfo) (string, error) {
	fp := ""
	if ci.PeerCertificate != nil {
		sum := sha256.Sum256(ci.PeerCertificate.Raw)
		fp = hex.EncodeToString(sum[:])
	}
	var addr netip.Addr
	if ta, ok := ci.Remote.(*net.TCPAddr); ok {
		addr, _ = netip.AddrFromSlice(ta.IP)
		addr = addr.Unmap()
	}
	best, bestBits := -1, -1
	for i, e := range c.entries {
		if e.CertSHA256 != "" && e.CertSHA256 != fp {
			continue
		}
		if e.hasNet && (!addr.IsValid() || !e.prefix.Contains(addr)) {
			continue
		}
		bits := e.prefix.Bits()
		if e.CertSHA256 != "" {
			bits += 1 << 10 // a certificate wins over any range
		}
		if bits > bestBits {
			best, bestBits = i, bits
		}
	}
	if best < 0 {
		what := "source address " + addr.String()
		if fp != "" {
			what += " with client certificate sha256 " + fp
		} else if ci.TLS != nil {
			what += " without a verified client certificate"
		}
		return "", fmt.Errorf("no MLLP channel is configured for %s", what)
	}
	return c.entries[best].Organization, nil
}

// CheckOrganization checks that a message comes from org, the organisation
// of its connection. The message's organisation is the AGB its sender
// configuration (MSH-3|MSH-4) names, else MSH-4's namespace or universal
// ID. It returns "" when they match, else why not (for ERR-8; no message
// content beyond MSH-4).
func CheckOrganization(m *hl7v2.Message, cfg *hl7v2.Config, org string) string {
	if m == nil || len(m.Segments) == 0 {
		return ""
	}
	if agb, _ := ww.NormalizeAGB(strings.TrimSpace(cfg.For(m.SendingApplication, m.SendingFacility).AGB)); agb != "" {
		if agb == org {
			return ""
		}
		return fmt.Sprintf("sender %s|%s is configured as organisation %s but this connection is authorised for %s only",
			clip(m.SendingApplication), clip(m.SendingFacility), agb, org)
	}
	hd := m.Segments[0].Field(4).HD()
	for _, v := range []string{hd.Namespace, hd.UniversalID} {
		if v = normalizeOrg(v); v != "" && strings.EqualFold(v, org) {
			return ""
		}
	}
	return fmt.Sprintf("MSH-4 (sending facility %s) does not match organisation %s, for which this connection is authorised", clip(m.SendingFacility), org)
}

// clip keeps an identifier from the message short and free of separators.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '|' || r == '^' || r == '~' || r == '\\' || r == '&' {
			return '?'
		}
		return r
	}, s)
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// foreignSenderACK returns the AR (ERR 207) for a message whose MSH does not
// come from org, read from its first segment only, and refused true; false
// when it matches. A message without a readable MSH is left to Process,
// which rejects it. The AR is sent whatever MSH-15 asks: a refusal is always
// answered.
func (p *Processor) foreignSenderACK(msg []byte, org string) (ack []byte, refused bool) {
	cfg := p.o.Senders.Config()
	m := firstSegment(msg, cfg)
	if m == nil {
		return nil, false
	}
	why := CheckOrganization(m, cfg, org)
	if why == "" {
		return nil, false
	}
	p.log.Warn("hl7 message refused: its sender is not the connection's organisation", "organization", org,
		"facility", clip(m.SendingFacility), "control_id", clip(m.ControlID))
	return p.refusalACK(m, why+"; the message was not processed"), true
}

// withdrawnACK returns the AR (ERR 207) for a message on a connection that
// the channels now in force no longer admit (they were reloaded since it
// was opened), built from its MSH when readable (nil m: a bare AR, as for
// an oversize frame). The message is not processed.
func (p *Processor) withdrawnACK(msg []byte, why string) []byte {
	m := firstSegment(msg, p.o.Senders.Config())
	p.log.Warn("hl7 message refused: the MLLP channels in force no longer admit its connection", "err", why)
	return p.refusalACK(m, why+" (the MLLP channels were reloaded since this connection opened); the message was not processed")
}

// firstSegment parses the MSH of msg (nil when unreadable).
func firstSegment(msg []byte, cfg *hl7v2.Config) *hl7v2.Message {
	line := msg
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	m, _ := hl7v2.Parse(append(append([]byte(nil), line...), '\r'), hl7v2.ParseOptions{Senders: cfg})
	return m
}

// refusalACK is the AR (CR in enhanced mode) with ERR 207 at MSH-4 and
// text as its ERR-8.
func (p *Processor) refusalACK(m *hl7v2.Message, text string) []byte {
	code := "AR"
	if hl7v2.Mode(m) {
		code = "CR"
	}
	p.m.messages.WithLabelValues("other", "other", code).Inc()
	problem := hl7v2.Problem{Severity: hl7v2.SeverityError, Code: hl7v2.CodeInternal, Segment: "MSH", Seq: 1, Field: 4,
		Text: text}
	return hl7v2.BuildACK(m, code, []hl7v2.Problem{problem}, p.o.ACK)
}

// ChannelsFile is the --mllp-channels file in force: loaded at start and
// again on Reload (SIGHUP). A reload that fails keeps the previous channels.
// Admit and Current always see one whole file, never a mix.
type ChannelsFile struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[Channels]
	mu   sync.Mutex
}

// OpenChannels loads the channels file at path; the first load must succeed.
func OpenChannels(path string, log *slog.Logger) (*ChannelsFile, error) {
	if log == nil {
		log = slog.Default()
	}
	c, err := LoadChannels(path)
	if err != nil {
		return nil, err
	}
	f := &ChannelsFile{path: path, log: log}
	f.cur.Store(c)
	return f, nil
}

// Path is the channels file.
func (f *ChannelsFile) Path() string { return f.path }

// Current is the channels in force.
func (f *ChannelsFile) Current() *Channels { return f.cur.Load() }

// Admit admits a connection by the channels in force (mllp.Options.Admit).
func (f *ChannelsFile) Admit(ci *mllp.ConnInfo) (string, error) { return f.cur.Load().Admit(ci) }

// Reload reads the file again and puts it in force when it loads; otherwise
// the previous channels stay and the error is returned (and logged).
func (f *ChannelsFile) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := LoadChannels(f.path)
	if err != nil {
		f.log.Error("mllp channels not reloaded; the previous ones stay in force", "file", f.path, "err", err)
		return err
	}
	f.cur.Store(c)
	f.log.Info("mllp channels reloaded", "file", f.path, "channels", len(c.entries))
	return nil
}
