package mediation

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// DistanceKm is the haversine distance between two points in kilometres.
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0088
	rad := math.Pi / 180
	dlat := (lat2 - lat1) * rad
	dlon := (lon2 - lon1) * rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// Point is a position.
type Point struct{ Lat, Lon float64 }

// PC4Geo maps four-digit postcodes to coordinates (the centre of the PC4
// area). Without one, members and locations without a geolocation cannot be
// placed: distance filters and distances skip them.
type PC4Geo map[string]Point

// LoadPC4Geo reads a PC4 coordinate file: one "PC4;lat;lon" (or comma- or
// tab-separated) line each, an optional header line, # comments.
func LoadPC4Geo(r io.Reader) (PC4Geo, error) {
	out := PC4Geo{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		sep := ";"
		switch {
		case strings.Contains(t, ";"):
		case strings.Contains(t, "\t"):
			sep = "\t"
		default:
			sep = ","
		}
		f := strings.Split(t, sep)
		if len(f) < 3 {
			return nil, fmt.Errorf("PC4 file line %d: expected PC4%slat%slon", line, sep, sep)
		}
		pc := strings.TrimSpace(f[0])
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
		lon, err2 := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
		if PC4(pc) == "" || len(pc) != 4 || err1 != nil || err2 != nil {
			if line == 1 {
				continue // header
			}
			return nil, fmt.Errorf("PC4 file line %d: expected a 4-digit postcode and two decimal coordinates", line)
		}
		if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			return nil, fmt.Errorf("PC4 file line %d: coordinates out of range", line)
		}
		out[pc] = Point{lat, lon}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("PC4 file: %w", err)
	}
	return out, nil
}

// ParsePC4Geo is LoadPC4Geo over bytes.
func ParsePC4Geo(b []byte) (PC4Geo, error) { return LoadPC4Geo(bytes.NewReader(b)) }

// Locate returns the position of a home: its geolocation, else its PC4's
// coordinates.
func (g PC4Geo) Locate(h *Home) (Point, bool) {
	if h == nil {
		return Point{}, false
	}
	if h.HasGeo {
		return Point{h.Lat, h.Lon}, true
	}
	if p, ok := g[h.PC4]; ok {
		return p, true
	}
	return Point{}, false
}
