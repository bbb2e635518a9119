package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	ww "github.com/wachtwijzer/wachtwijzer"
)

// pageTokens seals and opens paging cursors with AES-GCM under a key derived
// from the deployment key, so every gateway on one Redis can continue
// another's pages and clients cannot edit them.
type pageTokens struct {
	aead cipher.AEAD
}

func newPageTokens(deploymentKey []byte) (*pageTokens, error) {
	m := hmac.New(sha256.New, deploymentKey)
	m.Write([]byte("wachtwijzer page tokens v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("gateway: page tokens: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gateway: page tokens: %w", err)
	}
	return &pageTokens{aead: aead}, nil
}

// pageState is what a token carries: the query it continues (a hash of
// its normalised form), the cursor and query-level facts fixed for the
// whole paging (the asOf date of an operation).
type pageState struct {
	Query  string    `json:"q"`
	Cursor ww.Cursor `json:"c"`
	AsOf   string    `json:"a,omitempty"`
}

func (p *pageTokens) seal(st pageState) string {
	plain, _ := json.Marshal(st)
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("gateway: crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(p.aead.Seal(nonce, nonce, plain, nil))
}

func (p *pageTokens) open(tok, query string) (*pageState, error) {
	bad := ww.Errorf(ww.KindInvalid, "invalid", "the page token is invalid or was altered; start the search again from its first page").At("_page")
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < p.aead.NonceSize() {
		return nil, bad
	}
	plain, err := p.aead.Open(nil, raw[:p.aead.NonceSize()], raw[p.aead.NonceSize():], nil)
	if err != nil {
		return nil, bad
	}
	var st pageState
	if err := json.Unmarshal(plain, &st); err != nil {
		return nil, bad
	}
	if st.Query != queryHash(query) {
		return nil, ww.Errorf(ww.KindInvalid, "invalid", "the page token belongs to another search; follow the next link as given").At("_page")
	}
	return &st, nil
}

func queryHash(q string) string {
	s := sha256.Sum256([]byte(q))
	return base64.RawURLEncoding.EncodeToString(s[:12])
}
