// Package unet runs the EDM diffusion U-Nets (NVlabs/edm training/networks.py, as used by
// EnKG and InverseBench) in Go from exported PyTorch weights.
package unet
