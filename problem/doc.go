// Package problem builds inverse problems as values: from a Config (the YAML document of
// `enkg solve`, or Go values) it makes everything a solve needs — the forward-model factory,
// the prior with its normalisation, the truth, the observation and its noise, the misfit and
// the metrics — for the problems of the EnKG paper:
//
//	kind             unknown (physical units)               forward model                          default prior normalisation
//	linear-gaussian  field x on an n×n grid                 y = x[::s, ::s] + η                    physical = x
//	navier-stokes    vorticity w(0) on the 2π-periodic      y = w(T)[::s, ::s] + η, Re, Kolmogorov  physical = 10·x (published)
//	                 n×n grid                               forcing (package pde)
//	blackhole        image in image units (peak 1)          EHT 2017 closure phases, log closure   physical = (x + 1)/2
//	                                                        amplitudes, flux (interferometry)
//	image            Fashion-MNIST pixels in [−1, 1]        imaging.Task (inpainting, SR, blur,     physical = x
//	                                                        phase retrieval) + η
//
// with η ~ N(0, noise²·I) drawn from NoiseSeed(truth seed, truth index): every truth gets its
// own noise vector, and the methods' seed does not change the data.
//
// # Units
//
// The methods (package guidance) run in the prior's normalised space x; the prior carries the
// map physical = Norm.Scale·x + Norm.Shift (diffusion.Affine: the Norm of a prior file, the
// normalisation of a U-Net description, or prior.scale/shift for the priors built here).
// Problem.Guidance is the problem in that space (its forward model composes the map), and
// everything a user reads or writes is physical: truth.file, observation.file, Problem.Truth,
// Problem.Observation, and the Result of Problem.Run (ensemble, mean, std scaled by
// |Norm.Scale|) with its metrics. The σ settings of the methods are in the normalised space, so
// the published values apply unchanged.
//
// # Priors
//
// gaussian, grf, grf-fit (exact, built here), gmm and empirical (fitted to generated black-hole
// images or training images), file (any prior written by diffusion.SavePrior), fit (fitted on
// the fly to a training set — a .npy stack, or HDF5 through a Reader registered with
// RegisterReader, as cmd/enkg does — and cached), unet (an EDM U-Net, diffusion/unet). A
// simulated Navier–Stokes truth whose seed generated the prior's training set is refused.
//
// # Budgets
//
// Config.Budget is the forward-model budget of the EnKG settings before a run
// (guidance.EnKGSettings.ForwardBudget: J·updates·guided steps); with
// algorithm.eki.equal_budget EKI gets the same J and Budget/J iterations.
//
// # Defaults
//
// Load and Parse start from Defaults and decode strictly: unknown keys, fractional values of
// integer settings and seeds outside [0, 2⁶³) are errors, and a zero setting whose default is
// not zero is rejected by the constructors, never silently replaced.
package problem
