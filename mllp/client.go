package mllp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Client is a minimal MLLP sender for tests and tools: one connection, one
// message at a time. Its methods may be called from several goroutines; they
// take turns.
type Client struct {
	mu   sync.Mutex
	conn net.Conn
	r    *Reader
}

// Dial connects to an MLLP server at addr, over TLS when tlsCfg is set
// (its ServerName defaults to addr's host).
func Dial(ctx context.Context, addr string, tlsCfg *tls.Config) (*Client, error) {
	var (
		conn net.Conn
		err  error
		d    net.Dialer
	)
	if tlsCfg != nil {
		td := tls.Dialer{NetDialer: &d, Config: tlsCfg}
		conn, err = td.DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("mllp: dial %s: %w", addr, err)
	}
	return &Client{conn: conn, r: NewReader(conn, DefaultMaxMessageBytes)}, nil
}

// Conn returns the underlying connection.
func (c *Client) Conn() net.Conn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Send writes msg as one frame and returns the content of the reply frame.
// If the server closes the connection instead of replying, the error wraps
// io.EOF.
func (c *Client) Send(ctx context.Context, msg []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.write(ctx, msg); err != nil {
		return nil, err
	}
	return c.read(ctx)
}

// Write writes msg as one frame without waiting for a reply.
func (c *Client) Write(ctx context.Context, msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.write(ctx, msg)
}

// Read waits for the next reply frame and returns its content.
func (c *Client) Read(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read(ctx)
}

func (c *Client) write(ctx context.Context, msg []byte) error {
	if bytes.IndexByte(msg, StartBlock) >= 0 || bytes.IndexByte(msg, EndBlock) >= 0 {
		return errors.New("mllp: message contains a block character (0x0B or 0x1C)")
	}
	defer c.bound(ctx)()
	if _, err := c.conn.Write(Frame(msg)); err != nil {
		return fmt.Errorf("mllp: send: %w", ctxErr(ctx, err))
	}
	return nil
}

func (c *Client) read(ctx context.Context) ([]byte, error) {
	defer c.bound(ctx)()
	reply, err := c.r.Next()
	if err != nil {
		return nil, fmt.Errorf("mllp: read reply: %w", ctxErr(ctx, err))
	}
	return reply, nil
}

// bound applies ctx's deadline and cancellation to the connection until the
// returned function is called.
func (c *Client) bound(ctx context.Context) func() {
	dl, _ := ctx.Deadline()
	_ = c.conn.SetDeadline(dl)
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = c.conn.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	return func() {
		if !stop() {
			<-fired
		}
		_ = c.conn.SetDeadline(time.Time{})
	}
}

// ctxErr prefers the context's error over the timeout it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && isTimeout(err) {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
