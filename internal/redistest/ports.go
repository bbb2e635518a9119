package redistest

import (
	"fmt"
	"net"
	"strconv"
)

// clusterBusOffset is the distance Redis Cluster puts between a node's client
// port and its cluster bus port.
const clusterBusOffset = 10000

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago. With
// cluster set it also checks port+10000 (the cluster bus port). Another
// process may still take the port before redis-server binds it; callers retry
// on "Address already in use".
func freePort(cluster bool) (int, error) {
	var lastErr error
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("redistest: pick free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !cluster {
			l.Close()
			return port, nil
		}
		if port+clusterBusOffset > 65535 {
			l.Close()
			lastErr = fmt.Errorf("port %d: bus port %d out of range", port, port+clusterBusOffset)
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+clusterBusOffset))
		l.Close()
		if err != nil {
			lastErr = err
			continue
		}
		bus.Close()
		return port, nil
	}
	return 0, fmt.Errorf("redistest: pick free cluster port pair: %w", lastErr)
}
