// Package resp is a minimal RESP2 client for probing and controlling the
// redis-server processes the embedded default and the tests start: one
// connection, one command at a time, no pool, retries or logging.
package resp

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Conn is a minimal RESP2 client used for readiness probes, so that
// probing a starting server involves no connection pool, retries or logging.
type Conn struct {
	conn net.Conn
	rd   *bufio.Reader
}

// Error is an error reply from the server, such as "LOADING ...".
type Error string

func (e Error) Error() string { return string(e) }

// Dial connects to a Redis server (network "tcp" or "unix").
func Dial(ctx context.Context, network, addr string, timeout time.Duration) (*Conn, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	dl := time.Now().Add(timeout)
	if cdl, ok := ctx.Deadline(); ok && cdl.Before(dl) {
		dl = cdl
	}
	if err := c.SetDeadline(dl); err != nil {
		c.Close()
		return nil, err
	}
	return &Conn{conn: c, rd: bufio.NewReader(c)}, nil
}

func (c *Conn) Close() error { return c.conn.Close() }

// Do sends one command and reads its reply: string for simple and bulk
// strings, int64 for integers, []any for arrays, nil for null replies.
func (c *Conn) Do(args ...string) (any, error) {
	b := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		b = fmt.Appendf(b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.conn.Write(b); err != nil {
		return nil, err
	}
	return c.read()
}

func (c *Conn) read() (any, error) {
	line, err := c.rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed reply %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, Error(body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("malformed bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.rd, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("malformed array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		arr := make([]any, 0, n)
		for range n {
			v, err := c.read()
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		return arr, nil
	default:
		return nil, fmt.Errorf("unexpected reply type %q", line)
	}
}

// InfoField returns the value of field in an INFO reply ("loading:0" → "0").
func InfoField(info, field string) (string, bool) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, true
		}
	}
	return "", false
}

// Probe reports nil when the server at addr answers PING and INFO persistence
// says it finished loading its data set.
func Probe(ctx context.Context, network, addr string) error {
	c, err := Dial(ctx, network, addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Do("PING"); err != nil {
		return err
	}
	v, err := c.Do("INFO", "persistence")
	if err != nil {
		return err
	}
	info, _ := v.(string)
	if loading, ok := InfoField(info, "loading"); !ok || loading != "0" {
		return fmt.Errorf("still loading (loading:%s)", loading)
	}
	return nil
}

// Command runs one command on a fresh connection.
func Command(ctx context.Context, addr string, args ...string) (any, error) {
	c, err := Dial(ctx, "tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Do(args...)
}
