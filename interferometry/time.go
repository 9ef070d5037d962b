package interferometry

import (
	"fmt"
	"math"
)

// leapSeconds lists TAI−UTC (s) from the MJD on which it took effect (IERS Bulletin C).
var leapSeconds = []struct {
	mjd         int
	taiMinusUTC float64
}{
	{41317, 10}, {41499, 11}, {41683, 12}, {42048, 13}, {42413, 14}, {42778, 15}, {43144, 16},
	{43509, 17}, {43874, 18}, {44239, 19}, {44786, 20}, {45151, 21}, {45516, 22}, {46247, 23},
	{47161, 24}, {47892, 25}, {48257, 26}, {48804, 27}, {49169, 28}, {49534, 29}, {50083, 30},
	{50630, 31}, {51179, 32}, {53736, 33}, {54832, 34}, {56109, 35}, {57204, 36}, {57754, 37},
}

// TAIMinusUTC returns TAI−UTC in seconds on the given MJD (UTC), from 1972 on. It returns an
// error before 1972 (MJD 41317), where UTC had no integer leap seconds.
func TAIMinusUTC(mjd int) (float64, error) {
	if mjd < leapSeconds[0].mjd {
		return 0, fmt.Errorf("interferometry: MJD %d is before 1972; TAI−UTC is not tabulated", mjd)
	}
	v := leapSeconds[0].taiMinusUTC
	for _, l := range leapSeconds {
		if mjd >= l.mjd {
			v = l.taiMinusUTC
		}
	}
	return v, nil
}

// GMST returns the Greenwich mean sidereal time in hours, in [0, 24), at utcHours hours (UTC)
// after 0 h of day mjd, with UT1 − UTC = dut1 seconds. It is the IAU 2006 expression (ERFA
// gmst06, what astropy and therefore ehtim use):
//
//	D_U  = JD(UT1) − 2451545,   T = (JD(TT) − 2451545)/36525,
//	ERA  = 2π·frac(0.7790572732640 + 0.00273781191135448·D_U + D_U),
//	GMST = ERA + (0.014506 + 4612.156534T + 1.3915817T² − 4.4e-7T³ − 2.9956e-5T⁴ − 3.68e-8T⁵)″,
//
// with JD(TT) = JD(UTC) + (TAI−UTC + 32.184 s)/86400.
func GMST(mjd int, utcHours, dut1 float64) (float64, error) {
	day := mjd + int(math.Floor(utcHours/24))
	dat, err := TAIMinusUTC(day)
	if err != nil {
		return 0, err
	}
	const (
		dj00  = 2451545.0
		djm0  = 2400000.5
		djc   = 36525.0
		das2r = math.Pi / (180 * 3600)
	)
	// UT1 and TT as two-part Julian dates (djm0 + fraction-carrying part), as ERFA takes them.
	ut2 := float64(mjd) + (3600*utcHours+dut1)/86400
	tt2 := float64(mjd) + (3600*utcHours+dat+32.184)/86400
	// ERFA era00.
	t := ut2 + (djm0 - dj00)
	f := math.Mod(djm0, 1) + math.Mod(ut2, 1)
	era := anp(2 * math.Pi * (f + 0.7790572732640 + 0.00273781191135448*t))
	// ERFA gmst06.
	tc := ((djm0 - dj00) + tt2) / djc
	g := anp(era + (0.014506+(4612.156534+(1.3915817+(-0.00000044+(-0.000029956+(-0.0000000368)*tc)*tc)*tc)*tc)*tc)*das2r)
	return g * 12 / math.Pi, nil
}

// anp normalises an angle into [0, 2π) (ERFA eraAnp).
func anp(a float64) float64 {
	w := math.Mod(a, 2*math.Pi)
	if w < 0 {
		w += 2 * math.Pi
	}
	return w
}
