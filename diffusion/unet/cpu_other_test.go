//go:build !unix

package unet

func cpuSeconds() float64 { return 0 }
