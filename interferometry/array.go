package interferometry

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Constants of eht-imaging (ehtim 1.3.2, const_def.py). Degree is ehtim's DEGREE =
// 3.141592653589/180, not π/180 (relative difference 2.5e-13); it is used wherever ehtim uses
// it (RA/Dec, pixel size in μas, elevations and closure phases in degrees), so that results
// agree with ehtim to rounding.
const (
	SpeedOfLight = 299792458.0          // m/s
	Degree       = 3.141592653589 / 180 // ehtim's DEGREE (rad)
	Hour         = 15 * Degree          // ehtim's HOUR (rad per hour of right ascension)
	RadPerUas    = Degree / 3600 * 1e-6 // ehtim's RADPERUAS (rad per micro-arcsecond)
	quantLoss    = 0.88                 // 2-bit quantisation efficiency in the thermal noise
)

// ErrUnknownStation reports a station name that is not in an Array.
var ErrUnknownStation = errors.New("unknown station")

// ErrNoData reports an observation without any baseline above the elevation limits.
var ErrNoData = errors.New("no data: the source is never above the elevation limit at two stations")

// Station is one telescope: a name, its geocentric position (ITRF-like, metres) and its
// system equivalent flux densities (SEFD, Jy) in the right and left circular feeds.
type Station struct {
	Name         string
	X, Y, Z      float64 // m
	SEFDR, SEFDL float64 // Jy
}

// Array is a set of stations, in the order they were listed (the "file order").
type Array struct {
	Name     string
	Stations []Station
}

//go:embed arrays/eht2017.json
var eht2017JSON []byte

// EHT2017 returns the Event Horizon Telescope array of the April 2017 campaign as distributed
// with ehtim (arrays/EHT2017.txt): ALMA, APEX, JCMT, LMT, PV (IRAM 30 m), SMA, SMT, SPT with
// their positions and 230 GHz SEFDs. A new copy is returned on every call.
func EHT2017() *Array {
	var f struct {
		Stations []struct {
			Name string  `json:"name"`
			X    float64 `json:"x_m"`
			Y    float64 `json:"y_m"`
			Z    float64 `json:"z_m"`
			R    float64 `json:"sefdr_jy"`
			L    float64 `json:"sefdl_jy"`
		} `json:"stations_file_order"`
	}
	if err := json.Unmarshal(eht2017JSON, &f); err != nil {
		panic("interferometry: embedded EHT2017 table: " + err.Error()) // build-time data
	}
	a := &Array{Name: "eht2017"}
	for _, s := range f.Stations {
		a.Stations = append(a.Stations, Station{Name: s.Name, X: s.X, Y: s.Y, Z: s.Z, SEFDR: s.R, SEFDL: s.L})
	}
	return a
}

// LoadArray returns a built-in array by name ("eht2017", case-insensitive) or reads a station
// table from the file at nameOrPath (see ReadArrayTable).
func LoadArray(nameOrPath string) (*Array, error) {
	switch strings.ToLower(nameOrPath) {
	case "eht2017", "eht-2017", "eht":
		return EHT2017(), nil
	}
	f, err := os.Open(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("interferometry: array %q is neither built in (eht2017) nor a readable table: %w", nameOrPath, err)
	}
	defer f.Close()
	return ReadArrayTable(f, nameOrPath)
}

// ReadArrayTable reads a station table in ehtim's text format: one station per line,
//
//	NAME  X(m)  Y(m)  Z(m)  SEFDR(Jy)  SEFDL(Jy)  [FR_PAR FR_EL FR_OFF DR_RE DR_IM DL_RE DL_IM]
//
// separated by blanks; lines starting with '#' and blank lines are ignored, and columns after
// the sixth (feed rotation and leakage terms) are accepted but unused. Names must be unique,
// positions finite and not at the geocentre, and SEFDs positive.
func ReadArrayTable(r io.Reader, name string) (*Array, error) {
	a := &Array{Name: name}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		f := strings.Fields(t)
		if len(f) < 6 {
			return nil, fmt.Errorf("interferometry: array table line %d: %d columns, want at least 6 (name x y z sefdr sefdl)", line, len(f))
		}
		var v [5]float64
		for i := range v {
			x, err := strconv.ParseFloat(f[i+1], 64)
			if err != nil {
				return nil, fmt.Errorf("interferometry: array table line %d column %d: %w", line, i+2, err)
			}
			v[i] = x
		}
		a.Stations = append(a.Stations, Station{Name: f[0], X: v[0], Y: v[1], Z: v[2], SEFDR: v[3], SEFDL: v[4]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("interferometry: reading array table: %w", err)
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// Validate checks that the array has at least two stations with unique names, finite
// positions away from the geocentre and positive finite SEFDs.
func (a *Array) Validate() error {
	if a == nil || len(a.Stations) < 2 {
		return errors.New("interferometry: an array needs at least two stations")
	}
	seen := map[string]bool{}
	for i, s := range a.Stations {
		if s.Name == "" || strings.ContainsAny(s.Name, " \t\n") {
			return fmt.Errorf("interferometry: station %d has an empty or blank-containing name %q", i, s.Name)
		}
		if seen[s.Name] {
			return fmt.Errorf("interferometry: station %q listed twice", s.Name)
		}
		seen[s.Name] = true
		for _, x := range []float64{s.X, s.Y, s.Z, s.SEFDR, s.SEFDL} {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("interferometry: station %q has a non-finite value", s.Name)
			}
		}
		if math.Hypot(math.Hypot(s.X, s.Y), s.Z) < 1e3 {
			return fmt.Errorf("interferometry: station %q is at the geocentre (%g, %g, %g) m", s.Name, s.X, s.Y, s.Z)
		}
		if s.SEFDR <= 0 || s.SEFDL <= 0 {
			return fmt.Errorf("interferometry: station %q has SEFDs %g, %g Jy; they must be positive", s.Name, s.SEFDR, s.SEFDL)
		}
	}
	return nil
}

// Index returns the position of the named station in the file order.
func (a *Array) Index(name string) (int, error) {
	for i, s := range a.Stations {
		if s.Name == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("interferometry: station %q is not in array %q: %w", name, a.Name, ErrUnknownStation)
}

// Subset returns the array restricted to the named stations (in the given order).
func (a *Array) Subset(names ...string) (*Array, error) {
	b := &Array{Name: a.Name}
	for _, n := range names {
		i, err := a.Index(n)
		if err != nil {
			return nil, err
		}
		b.Stations = append(b.Stations, a.Stations[i])
	}
	return b, b.Validate()
}

// SEFDOrder returns the station indices sorted by sqrt(SEFDR² + SEFDL²) ascending, ties
// keeping the file order (ehtim's Obsdata.reorder_tarr_sefd, a stable sort). This order
// orients baselines (t1 before t2) and picks the reference station of the minimal closure sets.
func (a *Array) SEFDOrder() []int {
	idx := make([]int, len(a.Stations))
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) float64 {
		s := a.Stations[i]
		return math.Sqrt(s.SEFDR*s.SEFDR + s.SEFDL*s.SEFDL)
	}
	sort.SliceStable(idx, func(p, q int) bool { return key(idx[p]) < key(idx[q]) })
	return idx
}
