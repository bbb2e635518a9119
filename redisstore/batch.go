package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Group commit (standalone Redis). Concurrent writers' commit scripts that
// queue while one call is in flight go to Redis together as one
// commitbatch.lua call: each commit is still checked and applied alone (one
// that fails writes nothing, the others go ahead), but the batch pays one
// round trip and one script call, and on appendfsync always one fsync. A
// writer's commit has landed when its reply comes back, as before.

// Bounds of one batch: commits, and arguments (keys and ARGV together) so
// that a call stays short for Redis; and the calls in flight at once.
const (
	maxBatchCommits = 32
	maxBatchArgs    = 20000
	batchWorkers    = 2
)

// batcher queues commit calls for its workers, started with the first
// commit and stopped by Close; each worker sends what queued while it was
// busy as one call.
type batcher struct {
	start sync.Once
	mu    sync.Mutex
	queue []*pendingCommit
	wake  chan struct{} // one token: the queue is not empty
	quit  chan struct{}
	stop  sync.Once
}

type pendingCommit struct {
	ctx  context.Context
	keys []string
	args []any
	done chan struct{}
	v    any
	err  error
}

// commitScript runs one commit script call, batched with those of
// concurrent writers.
func (s *Store) commitScript(ctx context.Context, keys []string, args []any) (any, error) {
	b := &s.batch
	b.start.Do(func() {
		b.wake, b.quit = make(chan struct{}, 1), make(chan struct{})
		for i := 0; i < batchWorkers; i++ {
			go s.batchWorker()
		}
	})
	p := &pendingCommit{ctx: ctx, keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	select {
	case <-p.done:
		return p.v, p.err
	case <-ctx.Done():
		// A worker skips a commit whose context ended before it was sent;
		// one already sent may land, as any timed-out commit may.
		return nil, ctx.Err()
	case <-b.quit:
		return nil, errStoreClosed
	}
}

var errStoreClosed = errors.New("redisstore: the store is closed")

// batchWorker sends batches until the store closes.
func (s *Store) batchWorker() {
	b := &s.batch
	for {
		select {
		case <-b.wake:
		case <-b.quit:
			return
		}
		for {
			b.mu.Lock()
			batch := b.take()
			more := len(b.queue) > 0
			b.mu.Unlock()
			if more {
				// Let the other worker send the rest meanwhile.
				select {
				case b.wake <- struct{}{}:
				default:
				}
			}
			if len(batch) == 0 {
				break
			}
			s.runBatch(batch)
		}
	}
}

// close stops the workers.
func (b *batcher) close() {
	b.start.Do(func() { b.wake, b.quit = make(chan struct{}, 1), make(chan struct{}) }) // never started: no workers
	b.stop.Do(func() { close(b.quit) })
}

// take removes the next batch from the queue (b.mu held), answering the
// commits whose context has ended.
func (b *batcher) take() []*pendingCommit {
	var out []*pendingCommit
	n, args := 0, 0
	for n < len(b.queue) {
		p := b.queue[n]
		size := len(p.keys) + len(p.args)
		if len(out) > 0 && (len(out) >= maxBatchCommits || args+size > maxBatchArgs) {
			break
		}
		n++
		if err := p.ctx.Err(); err != nil {
			p.err = err
			close(p.done)
			continue
		}
		out = append(out, p)
		args += size
	}
	rest := copy(b.queue, b.queue[n:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	return out
}

// runBatch sends a batch: the plain commit script for one commit, else
// commitbatch.lua.
func (s *Store) runBatch(batch []*pendingCommit) {
	// The call is not cancelled with the first writer's context (the
	// others wait for it too); it is bounded by the client's timeouts.
	ctx := context.WithoutCancel(batch[0].ctx)
	if len(batch) == 1 {
		p := batch[0]
		p.v, p.err = s.runScript(ctx, "commit", s.scripts.commit, p.keys, p.args)
		close(p.done)
		return
	}
	nk, na := 0, 1+2*len(batch)
	for _, p := range batch {
		nk, na = nk+len(p.keys), na+len(p.args)
	}
	keys := make([]string, 0, nk)
	args := make([]any, 0, na)
	args = append(args, len(batch))
	for _, p := range batch {
		args = append(args, len(p.keys), len(p.args))
	}
	for _, p := range batch {
		keys = append(keys, p.keys...)
		args = append(args, p.args...)
	}
	start := time.Now()
	v, err := s.scripts.commitBatch.Run(ctx, s.rdb, keys, args...).Result()
	replies, ok := v.([]any)
	if err == nil && (!ok || len(replies) != len(batch)) {
		err = fmt.Errorf("commit batch of %d answered %T with %d replies", len(batch), v, len(replies))
	}
	for i, p := range batch {
		if err != nil {
			p.err = err
		} else {
			p.v = replies[i]
		}
		if s.observe != nil {
			s.observe("commit", time.Since(start), p.err)
		}
		close(p.done)
	}
}
