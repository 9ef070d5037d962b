//go:build fftw

package main

// Built with -tags fftw (cgo, libfftw3-dev), every spectral.Plan of the tool runs FFTW;
// the resulting binary is covered by FFTW's GPL licence.
import _ "github.com/enkg-go/enkg/spectral/fftw"
