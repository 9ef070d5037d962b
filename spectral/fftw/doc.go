// Package fftw is an optional native backend for spectral.Plan built on FFTW 3.
//
// It is compiled only with the build tag fftw (cgo, libfftw3-dev):
//
//	go build -tags fftw ./cmd/enkg
//
// and installs itself when imported (import _ "github.com/enkg-go/enkg/spectral/fftw"):
// every spectral.NewPlan then runs FFTW's r2c/c2r plans (spectral.NewPurePlan still gives the
// pure-Go FFT). FFTW is licensed under the GPL (v2 or later), so a binary built with this
// tag is covered by the GPL; the default build contains no GPL code.
package fftw
