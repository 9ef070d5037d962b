package interferometry

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Settings describe an observation: the source, the frequency, the schedule and the
// instrument. Times are UTC hours after 0 h of day MJD. The zero value is not usable: set at
// least RA/Dec, Freq, MJD, TStop, TAdv, TInt and Bandwidth (see DefaultSettings).
type Settings struct {
	RA  float64 // right ascension of the source (hours)
	Dec float64 // declination of the source (degrees)

	Freq float64 // observing frequency (Hz); λ = c/Freq
	MJD  int     // Modified Julian Date of the day of observation (UTC)

	TStart float64 // first scheduled time (UTC hours)
	TStop  float64 // end of the schedule (UTC hours, exclusive)
	TAdv   float64 // interval between scheduled times (s)
	TInt   float64 // integration time of one visibility (s); enters only through σ

	Bandwidth float64 // bandwidth (Hz)

	// ElevMin and ElevMax are the elevation limits (degrees); a station observes when
	// ElevMin < el < ElevMax (strict). ElevMax = 0 means 85° and then ElevMin = 0 means 10°
	// (ehtim's ELEV_HIGH and ELEV_LOW); with ElevMax set, ElevMin is taken as given.
	ElevMin, ElevMax float64

	// DUT1 is UT1 − UTC in seconds (default 0). For 2017-04-11, IERS-B gives 0.4546 s.
	DUT1 float64
}

// DefaultSettings returns the settings of the EHT 2017 M87 observation used by the reference
// data: 230 GHz, MJD 57854 (2017-04-11), 0–24 h every 600 s, 60 s integrations, 4 GHz
// bandwidth, elevation limits 10°–85°, DUT1 = 0.
func DefaultSettings() Settings {
	return Settings{
		RA: 12.513728717168174, Dec: 12.39112323919932,
		Freq: 230e9, MJD: 57854,
		TStart: 0, TStop: 24, TAdv: 600, TInt: 60, Bandwidth: 4e9,
		ElevMin: 10, ElevMax: 85,
	}
}

func (s Settings) withDefaults() Settings {
	if s.ElevMax == 0 {
		s.ElevMax = 85
		if s.ElevMin == 0 {
			s.ElevMin = 10
		}
	}
	return s
}

// Validate reports the first impossible parameter.
func (s Settings) Validate() error {
	s = s.withDefaults()
	bad := func(name string, v float64, why string) error {
		return fmt.Errorf("interferometry: observation %s = %v: %s", name, v, why)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"RA", s.RA}, {"Dec", s.Dec}, {"Freq", s.Freq}, {"TStart", s.TStart}, {"TStop", s.TStop}, {"TAdv", s.TAdv},
		{"TInt", s.TInt}, {"Bandwidth", s.Bandwidth}, {"ElevMin", s.ElevMin}, {"ElevMax", s.ElevMax}, {"DUT1", s.DUT1}} {
		if math.IsNaN(p.v) || math.IsInf(p.v, 0) {
			return bad(p.name, p.v, "not finite")
		}
	}
	switch {
	case s.RA < 0 || s.RA >= 24:
		return bad("RA", s.RA, "must be in [0, 24) hours")
	case s.Dec < -90 || s.Dec > 90:
		return bad("Dec", s.Dec, "must be in [-90, 90] degrees")
	case s.Freq <= 0:
		return bad("Freq", s.Freq, "must be positive")
	case s.TAdv <= 0:
		return bad("TAdv", s.TAdv, "must be positive")
	case s.TStop <= s.TStart:
		return fmt.Errorf("interferometry: observation TStop = %v h is not after TStart = %v h", s.TStop, s.TStart)
	case s.TInt <= 0:
		return bad("TInt", s.TInt, "must be positive")
	case s.Bandwidth <= 0:
		return bad("Bandwidth", s.Bandwidth, "must be positive")
	case s.ElevMin < -90 || s.ElevMax > 90 || s.ElevMin >= s.ElevMax:
		return fmt.Errorf("interferometry: elevation limits %v°–%v° are not an interval within [-90°, 90°]", s.ElevMin, s.ElevMax)
	case math.Abs(s.DUT1) > 1:
		return bad("DUT1", s.DUT1, "|UT1 − UTC| never exceeds 0.9 s")
	}
	if _, err := TAIMinusUTC(s.MJD); err != nil {
		return err
	}
	if n := (s.TStop - s.TStart) * 3600 / s.TAdv; n > 1e6 {
		return bad("TAdv", s.TAdv, fmt.Sprintf("gives %.0f scheduled times (more than 1e6)", n))
	}
	return nil
}

// Wavelength returns c/Freq in metres.
func (s Settings) Wavelength() float64 { return SpeedOfLight / s.Freq }

// Times returns the schedule t_i = TStart + i·TAdv/3600 for t_i < TStop (numpy's
// arange(tstart, tstop, tadv/3600), as ehtim builds it).
func (s Settings) Times() []float64 {
	step := s.TAdv / 3600
	n := int(math.Ceil((s.TStop - s.TStart) / step))
	t := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		t = append(t, s.TStart+float64(i)*step)
	}
	return t
}

// Observation is the table of visibilities produced by earth-rotation synthesis: one row per
// baseline and time with data, sorted by time, then t1 name, then t2 name (ehtim's row order).
// Station indices T1, T2 refer to Stations, which lists the array's stations in SEFD order
// (ehtim's Obsdata order); every baseline is oriented so that T1 < T2.
type Observation struct {
	Settings Settings
	Array    *Array
	// Stations are the station names in SEFD order (ascending sqrt(SEFDR²+SEFDL²), ties in file
	// order); Station[i] is the station called Stations[i].
	Stations []string
	Station  []Station
	Lambda   float64 // wavelength (m)

	Time  []float64 // UTC hours
	GMST  []float64 // hours
	T1    []int     // index into Stations
	T2    []int     // index into Stations
	U, V  []float64 // wavelengths, u = (r1 − r2)·û/λ
	Sigma []float64 // thermal σ of each of Re and Im (Jy)
	El1   []float64 // elevation of station T1 (degrees, ehtim's DEGREE)
	El2   []float64 // elevation of station T2
}

// Len returns the number of visibilities.
func (o *Observation) Len() int { return len(o.Time) }

// Observe synthesises the uv coverage of array arr for settings s, computing GMST from UTC
// with s.DUT1.
func Observe(arr *Array, s Settings) (*Observation, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	times := s.Times()
	gmst := make([]float64, len(times))
	for i, t := range times {
		g, err := GMST(s.MJD, t, s.DUT1)
		if err != nil {
			return nil, err
		}
		gmst[i] = g
	}
	return ObserveGMST(arr, s, gmst)
}

// ObserveGMST is Observe with the GMST (hours) of every scheduled time given (one per element
// of s.Times()), e.g. from an external ephemeris.
//
// For a station at r = (X, Y, Z) and the source at (α, δ), with the Greenwich hour angle
// θ = (GMST − α)·15° mod 2π, the station rotates to r' = R_z(θ)r and, for Δ = r1 − r2,
//
//	u = (sinθ·ΔX + cosθ·ΔY)/λ,   v = (−sinδ·(cosθ·ΔX − sinθ·ΔY) + cosδ·ΔZ)/λ,
//
// and its (geocentric) elevation is el = π/2 − arccos(r'·ŝ/|r'|), ŝ = (cosδ, 0, sinδ). A
// baseline has data at a time when both stations have ElevMin < el < ElevMax. The thermal
// noise of each of Re V and Im V is σ = ½·sqrt(σ_RR² + σ_LL²) with
// σ_RR = sqrt(SEFD_R1·SEFD_R2/(2·B·τ))/0.88 (and σ_LL alike).
func ObserveGMST(arr *Array, s Settings, gmst []float64) (*Observation, error) {
	if err := arr.Validate(); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	times := s.Times()
	if len(gmst) != len(times) {
		return nil, fmt.Errorf("interferometry: %d GMST values for %d scheduled times", len(gmst), len(times))
	}
	order := arr.SEFDOrder()
	ns := len(order)
	o := &Observation{Settings: s, Array: arr, Lambda: s.Wavelength()}
	for _, i := range order {
		o.Stations = append(o.Stations, arr.Stations[i].Name)
		o.Station = append(o.Station, arr.Stations[i])
	}
	// For each time, pairs (a, b) with a < b in SEFD order, sorted by (name a, name b).
	type pair struct{ a, b int }
	var pairs []pair
	for a := 0; a < ns; a++ {
		for b := a + 1; b < ns; b++ {
			pairs = append(pairs, pair{a, b})
		}
	}
	sort.SliceStable(pairs, func(p, q int) bool {
		x, y := pairs[p], pairs[q]
		if o.Stations[x.a] != o.Stations[y.a] {
			return o.Stations[x.a] < o.Stations[y.a]
		}
		return o.Stations[x.b] < o.Stations[y.b]
	})
	dec := s.Dec * Degree
	sd, cd := math.Sincos(dec)
	lam := o.Lambda
	rot := make([][3]float64, ns)
	el := make([]float64, ns)
	up := make([]bool, ns)
	for it, t := range times {
		g := gmst[it]
		if math.IsNaN(g) || math.IsInf(g, 0) {
			return nil, fmt.Errorf("interferometry: GMST[%d] = %v", it, g)
		}
		theta := math.Mod((g-s.RA)*Hour, 2*math.Pi)
		if theta < 0 {
			theta += 2 * math.Pi
		}
		st, ct := math.Sincos(theta)
		for k, st0 := range o.Station {
			x := ct*st0.X - st*st0.Y
			y := st*st0.X + ct*st0.Y
			z := st0.Z
			rot[k] = [3]float64{x, y, z}
			r := math.Sqrt(x*x + y*y + z*z)
			e := (math.Pi/2 - math.Acos((x*cd+z*sd)/r)) / Degree
			el[k] = e
			up[k] = s.ElevMin < e && e < s.ElevMax
		}
		for _, p := range pairs {
			if !up[p.a] || !up[p.b] {
				continue
			}
			r1, r2 := rot[p.a], rot[p.b]
			dx, dy, dz := (r1[0]-r2[0])/lam, (r1[1]-r2[1])/lam, (r1[2]-r2[2])/lam
			o.Time = append(o.Time, t)
			o.GMST = append(o.GMST, g)
			o.T1 = append(o.T1, p.a)
			o.T2 = append(o.T2, p.b)
			o.U = append(o.U, dy)
			o.V = append(o.V, -sd*dx+cd*dz)
			o.Sigma = append(o.Sigma, ThermalSigma(o.Station[p.a], o.Station[p.b], s.Bandwidth, s.TInt))
			o.El1 = append(o.El1, el[p.a])
			o.El2 = append(o.El2, el[p.b])
		}
	}
	if len(o.Time) == 0 {
		return nil, fmt.Errorf("interferometry: source at RA %gh Dec %g° with array %q, MJD %d, %g–%g h, elevation %g°–%g°: %w",
			s.RA, s.Dec, arr.Name, s.MJD, s.TStart, s.TStop, s.ElevMin, s.ElevMax, ErrNoData)
	}
	return o, nil
}

// ThermalSigma returns the thermal noise σ (Jy) of each of Re V and Im V (Stokes I) on the
// baseline a–b for bandwidth bw (Hz) and integration time tint (s):
// σ = ½·sqrt(σ_RR² + σ_LL²), σ_RR = sqrt(SEFD_Ra·SEFD_Rb/(2·bw·tint))/0.88.
func ThermalSigma(a, b Station, bw, tint float64) float64 {
	rr := math.Sqrt(a.SEFDR*b.SEFDR/(2*bw*tint)) / quantLoss
	ll := math.Sqrt(a.SEFDL*b.SEFDL/(2*bw*tint)) / quantLoss
	return 0.5 * math.Sqrt(rr*rr+ll*ll)
}

// errEmpty is returned by helpers called on an empty observation.
var errEmpty = errors.New("interferometry: empty observation")

// NewObservationTable rebuilds an Observation from its table (e.g. read back from a file):
// stations in SEFD order and, per row, time (UTC h), t1, t2 (indices into stations), u, v
// (wavelengths) and σ (Jy). Rows must be sorted by time. gmst may be nil. Settings and Array
// are left empty apart from the station names.
func NewObservationTable(stations []string, time, gmst []float64, t1, t2 []int, u, v, sigma []float64) (*Observation, error) {
	n := len(time)
	if n == 0 {
		return nil, errEmpty
	}
	if len(t1) != n || len(t2) != n || len(u) != n || len(v) != n || len(sigma) != n || (gmst != nil && len(gmst) != n) {
		return nil, fmt.Errorf("interferometry: observation table columns have different lengths (time %d, t1 %d, t2 %d, u %d, v %d, sigma %d)",
			n, len(t1), len(t2), len(u), len(v), len(sigma))
	}
	o := &Observation{Stations: append([]string(nil), stations...)}
	seen := map[string]bool{}
	for _, s := range stations {
		if seen[s] {
			return nil, fmt.Errorf("interferometry: station %q listed twice", s)
		}
		seen[s] = true
		o.Station = append(o.Station, Station{Name: s})
	}
	for k := 0; k < n; k++ {
		if t1[k] < 0 || t1[k] >= len(stations) || t2[k] < 0 || t2[k] >= len(stations) || t1[k] == t2[k] {
			return nil, fmt.Errorf("interferometry: row %d: station indices (%d, %d) invalid for %d stations: %w", k, t1[k], t2[k], len(stations), ErrUnknownStation)
		}
		if k > 0 && time[k] < time[k-1] {
			return nil, fmt.Errorf("interferometry: row %d: times are not sorted", k)
		}
		if !(sigma[k] > 0) {
			return nil, fmt.Errorf("interferometry: row %d: σ = %v must be positive", k, sigma[k])
		}
	}
	o.Time = append([]float64(nil), time...)
	if gmst != nil {
		o.GMST = append([]float64(nil), gmst...)
	}
	o.T1, o.T2 = append([]int(nil), t1...), append([]int(nil), t2...)
	o.U, o.V, o.Sigma = append([]float64(nil), u...), append([]float64(nil), v...), append([]float64(nil), sigma...)
	return o, nil
}
