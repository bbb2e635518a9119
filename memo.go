package wachtwijzer

import (
	"context"
	"sync"
)

// Memo is a per-request cache: what a Policy resolved once for a request
// (an insurer's member set) it need not resolve again for every hit.
type Memo struct{ m sync.Map }

type memoKey struct{}

// WithMemo returns ctx carrying a fresh Memo (the gateway installs one per
// request).
func WithMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &Memo{})
}

// MemoFrom returns the request's Memo, nil when none.
func MemoFrom(ctx context.Context) *Memo {
	m, _ := ctx.Value(memoKey{}).(*Memo)
	return m
}

// Load returns the value stored under key.
func (m *Memo) Load(key any) (any, bool) { return m.m.Load(key) }

// Store keeps value under key for the rest of the request.
func (m *Memo) Store(key, value any) { m.m.Store(key, value) }
