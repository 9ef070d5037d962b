package problem

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/imaging"
)

// ErrConfig reports an impossible or ambiguous configuration.
var ErrConfig = errors.New("problem: invalid configuration")

// Config is a complete inverse problem and the method that solves it: the YAML document of
// `enkg solve` (configs/README.md documents every key). Start from Defaults (or Load): a
// zero value of a setting whose default is not zero is an error, never a silent default.
type Config struct {
	Problem     Settings    `yaml:"problem"`
	Truth       Truth       `yaml:"truth"`
	Observation Observation `yaml:"observation"`
	Prior       PriorConfig `yaml:"prior"`
	Algorithm   Algorithm   `yaml:"algorithm"`
	// Seed selects the initial ensembles of the methods.
	Seed uint64 `yaml:"seed"`
	// Workers is the number of goroutines (0: all cores); results do not depend on it.
	Workers int   `yaml:"workers"`
	Image   Image `yaml:"image"` // problem.kind image

	given *given // Assemble: pieces built elsewhere
}

// given holds what Assemble takes instead of building it.
type given struct {
	prior      *Prior
	truth, obs []float64
}

// Settings describe the forward model and the measurement noise.
type Settings struct {
	// Kind: linear-gaussian (y = x[::s, ::s] + noise), navier-stokes (y = w(T)[::s, ::s] +
	// noise, the unknown is the vorticity w(0)), blackhole (EHT closure data of an image) or
	// image (the image tasks on Fashion-MNIST).
	Kind   string  `yaml:"kind"`
	Size   int     `yaml:"size"`   // grid n (fields n×n); image: from the images
	Stride int     `yaml:"stride"` // observe every stride-th point along both axes
	Noise  float64 `yaml:"noise"`  // standard deviation of the Gaussian measurement noise (physical units)
	// MisfitSigma is the σ of the Gaussian misfit ‖G(x) − y‖²/(2σ²); 0: Noise, or 1 when
	// Noise is 0. The image tasks use 1 whatever the noise (the published loss).
	MisfitSigma float64 `yaml:"misfit_sigma"`
	// navier-stokes
	Re float64 `yaml:"re"` // Reynolds number
	T  float64 `yaml:"t"`  // time between the unknown state and the observation
	// blackhole
	FOV          float64 `yaml:"fov_uas"`       // field of view (μas)
	Array        string  `yaml:"array"`         // station array (built-in name or table file)
	ThermalNoise bool    `yaml:"thermal_noise"` // thermal noise on the visibilities
}

// Truth selects the true field (physical units).
type Truth struct {
	// Source: prior (a draw of the prior), file (File), simulated (navier-stokes: a GRF
	// initial vorticity spun up for Spinup time units, field Index of `enkg data ns --seed
	// Seed`), generated (blackhole: a random ring/crescent image), dataset (image: test image
	// image.index), none (no truth: needs observation.file; no error metrics). Empty: the
	// kind's default (prior; generated for blackhole; dataset for image).
	Source string `yaml:"source"`
	File   string `yaml:"file"`  // .npy of shape (n, n) in physical units (source file)
	Seed   uint64 `yaml:"seed"`  // seed of the draw (and of the noise, see Observation)
	Index  int    `yaml:"index"` // simulated: member index of the stream (Seed, Index)
	// Spinup is the spin-up time of a simulated truth (navier-stokes) [5].
	Spinup float64 `yaml:"spinup"`
}

// Observation is the data y.
type Observation struct {
	// File is a .npy of the observation's shape (physical units); empty: y = G(truth) +
	// noise with the noise drawn from the stream NoiseSeed(seed, truth.seed) — a different
	// noise vector for every truth.
	File string `yaml:"file"`
}

// PriorConfig selects the diffusion prior. The solver works in the prior's normalised space
// x, physical = scale·x + shift; everything read or written is in physical units.
type PriorConfig struct {
	// Kind: gaussian (N(0, variance·I) in the normalised space), grf (the spectral Gaussian
	// of the GRF(alpha, tau) initial vorticity), grf-fit (a stationary Gaussian fitted to
	// `samples` GRF fields), gmm | empirical (fitted to generated black-hole images or to
	// training images), file (a prior file written by diffusion.SavePrior: gaussian,
	// diag_gaussian, spectral_gaussian, gmm, empirical, with its normalisation), fit (fitted
	// to the fields of Data with Fit, cached in File), unet (an EDM U-Net: Weights, Config).
	Kind     string  `yaml:"kind"`
	Variance float64 `yaml:"variance"` // gaussian
	Alpha    float64 `yaml:"alpha"`    // grf smoothness
	Tau      float64 `yaml:"tau"`      // grf inverse length
	// Samples: grf-fit generated fields; blackhole gmm | empirical generated images.
	Samples    int  `yaml:"samples"`
	Components int  `yaml:"components"` // gmm components
	Diagonal   bool `yaml:"diagonal"`   // gmm diagonal covariances
	// Scale and Shift are the normalisation physical = Scale·x + Shift of the priors that do
	// not carry their own (gaussian, grf, grf-fit, fit); 0 scale: the kind's default (10 for
	// navier-stokes, as the published prior; 1 otherwise; blackhole 0.5 with shift 0.5).
	Scale float64 `yaml:"scale"`
	Shift float64 `yaml:"shift"`
	// File: the prior file (kind file), or the cache of a fitted prior (kind fit: loaded when
	// it exists, written after fitting otherwise).
	File string `yaml:"file"`
	// Data is the training set of kind fit: an HDF5 file of `enkg data ns` (needs a reader
	// registered with RegisterReader, as cmd/enkg does) or a .npy stack (N, n, n), physical
	// units. Train fields are used (0: all).
	Data  string `yaml:"data"`
	Train int    `yaml:"train"`
	// Fit is the model fitted by kind fit: spectral (stationary Gaussian), spectral-field
	// (stationary covariance, mean per pixel), gaussian (full covariance, Ledoit–Wolf), gmm,
	// empirical.
	Fit string `yaml:"fit"`
	// Weights and Config are the U-Net files of kind unet (unet.Load): the npz state dict and
	// its JSON description; the description's normalisation maps physical units to the
	// network's space.
	Weights string `yaml:"weights"`
	Config  string `yaml:"config"`
	// TrainSeeds are the seeds of the prior's training set (`enkg data ns --seed`): a
	// simulated truth with one of these seeds is refused (it would be a training field). Kind
	// fit reads the seed from an HDF5 training set itself.
	TrainSeeds []uint64 `yaml:"train_seeds"`
}

// Algorithm selects and configures the method.
type Algorithm struct {
	// Name: enkg, eki, dps, forward-gsg, central-gsg, dpg, scg, posterior.
	Name string `yaml:"name"`
	EnKG EnKG   `yaml:"enkg"`
	EKI  EKI    `yaml:"eki"`
	DPS  DPS    `yaml:"dps"`
	DPG  DPG    `yaml:"dpg"`
	SCG  SCG    `yaml:"scg"`
	// Posterior configures the derivative-free posterior sampler (algorithm.name posterior).
	Posterior Posterior `yaml:"posterior"`
	Sch       Schedule  `yaml:"schedule"` // discretisation of the DPS/GSG/DPG/SCG baselines
	// OnMemberFailure: error (a member whose forward model fails or returns a NaN or an
	// infinity stops the solve) or resample (enkg and eki: failed members sit out the update
	// and are redrawn from a Gaussian fitted to the successful ones, EnsembleKalmanProcesses.jl's
	// SampleSuccGauss; guidance.FailResample). metrics.json counts the failures
	// (counts.forward_failed).
	OnMemberFailure string `yaml:"on_member_failure"`
}

// EnKG are guidance.EnKGSettings (σ values in the prior's normalised space).
type EnKG struct {
	Members         int     `yaml:"members"`
	Steps           int     `yaml:"steps"`
	Updates         int     `yaml:"updates"`
	Scale           float64 `yaml:"scale"`
	SigmaMax        float64 `yaml:"sigma_max"`
	SigmaMin        float64 `yaml:"sigma_min"`
	Rho             float64 `yaml:"rho"`
	ThresholdStart  float64 `yaml:"threshold_start"`
	ThresholdEnd    float64 `yaml:"threshold_end"`
	LRMinRatio      float64 `yaml:"lr_min_ratio"`
	ODESigmaMin     float64 `yaml:"ode_sigma_min"`
	MaxODESteps     int     `yaml:"max_ode_steps"`
	Float32Schedule bool    `yaml:"float32_schedule"`
	// Discrepancy τ > 0 skips a guidance update while the ensemble's mean misfit is at most
	// τ·M/2 (the discrepancy principle, noise-aware; M data); 0: the published algorithm.
	Discrepancy float64 `yaml:"discrepancy"`
	// Localization c > 0 localizes the Kalman update with a Gaspari–Cohn taper of half-width
	// c in domain length units (guidance.Kalman.Localize; navier-stokes and linear-gaussian,
	// the 2π-periodic square); 0: the published, unlocalized update.
	Localization float64 `yaml:"localization"`
}

// EKI are guidance.EKISettings.
type EKI struct {
	// EqualBudget runs EKI with the EnKG settings' ensemble size and as many iterations as
	// fit in their forward-model budget (guidance.EnKGSettings.ForwardBudget / J); Members and
	// Iterations are then ignored.
	EqualBudget bool    `yaml:"equal_budget"`
	Members     int     `yaml:"members"`
	Iterations  int     `yaml:"iterations"`
	Scale       float64 `yaml:"scale"`
	// Discrepancy τ > 0 stops when the ensemble's mean misfit is at most τ·M/2.
	Discrepancy float64 `yaml:"discrepancy"`
	// Localization c > 0 localizes the Kalman update (as algorithm.enkg.localization).
	Localization float64 `yaml:"localization"`
}

// Posterior are guidance.PosteriorSettings (σ values in the prior's normalised space).
type Posterior struct {
	Members          int     `yaml:"members"`
	ESSFraction      float64 `yaml:"ess_fraction"`
	Moves            int     `yaml:"moves"`
	FinalMoves       int     `yaml:"final_moves"`
	MaxMoves         int     `yaml:"max_moves"`
	Decorrelation    float64 `yaml:"decorrelation"`
	TargetAcceptance float64 `yaml:"target_acceptance"`
	InitialStep      float64 `yaml:"initial_step"`
	Steps            int     `yaml:"steps"`
	SigmaMax         float64 `yaml:"sigma_max"`
	SigmaMin         float64 `yaml:"sigma_min"`
	Rho              float64 `yaml:"rho"`
	MaxStages        int     `yaml:"max_stages"`
}

// Schedule is guidance.Schedule.
type Schedule struct {
	Kind       string  `yaml:"kind"`
	Steps      int     `yaml:"steps"`
	SigmaMax   float64 `yaml:"sigma_max"`
	SigmaMin   float64 `yaml:"sigma_min"`
	SigmaFinal float64 `yaml:"sigma_final"`
	Rho        float64 `yaml:"rho"`
}

// DPS configures dps, forward-gsg and central-gsg (guidance.DPSSettings).
type DPS struct {
	Members   int     `yaml:"members"`
	Scale     float64 `yaml:"scale"`
	ODE       bool    `yaml:"ode"`
	Queries   int     `yaml:"queries"`
	BatchSize int     `yaml:"batch_size"`
	Mu        float64 `yaml:"mu"`
}

// DPG is guidance.DPGSettings.
type DPG struct {
	Members   int     `yaml:"members"`
	Scale     float64 `yaml:"scale"`
	MCSamples int     `yaml:"mc_samples"`
	BatchSize int     `yaml:"batch_size"`
	Beta      float64 `yaml:"beta"`
	RMin      float64 `yaml:"r_min"`
	ODE       bool    `yaml:"ode"`
}

// SCG is guidance.SCGSettings.
type SCG struct {
	Members    int     `yaml:"members"`
	Candidates int     `yaml:"candidates"`
	BatchSize  int     `yaml:"batch_size"`
	Threshold  float64 `yaml:"threshold"`
}

// Image is the `image:` section of problem.kind image — the image tasks of the EnKG paper on
// Fashion-MNIST. The truth is test image Index of Split, scaled to [−1, 1] (the physical
// units of this kind) and padded by Pad pixels of background −1; the prior is fitted to the
// first Train training images (0: all 60 000) treated the same way.
type Image struct {
	Task      imaging.Task `yaml:"task"`       // the forward model; shape fields default to the image's
	Data      string       `yaml:"data"`       // directory of the IDX files
	Split     string       `yaml:"split"`      // split of the truth (t10k: held out)
	Index     int          `yaml:"index"`      // image index in Split
	Pad       int          `yaml:"pad"`        // background pixels added on every side
	Train     int          `yaml:"train"`      // training images of the prior (0: all)
	Shrinkage float64      `yaml:"shrinkage"`  // full-covariance fit shrinkage (< 0: Ledoit–Wolf)
	PriorFile string       `yaml:"prior_file"` // cache of the fitted prior (.npz)
}

// Defaults returns the configuration every file starts from.
func Defaults() Config {
	e, k, d, g, s := guidance.DefaultEnKGSettings(), guidance.DefaultEKISettings(), guidance.DefaultDPSSettings(),
		guidance.DefaultDPGSettings(), guidance.DefaultSCGSettings()
	sch := guidance.DefaultSchedule()
	ps := guidance.DefaultPosteriorSettings()
	return Config{
		Image: Image{Data: datasets.FashionMNISTDir, Split: "t10k", Shrinkage: -1},
		Problem: Settings{Kind: "linear-gaussian", Size: 32, Stride: 2, Noise: 0, Re: 200, T: 1,
			FOV: 160, Array: "eht2017", ThermalNoise: true},
		Truth: Truth{Spinup: 5},
		Prior: PriorConfig{Kind: "gaussian", Variance: 1, Alpha: 2.5, Tau: 7, Samples: 512, Components: 8, Diagonal: true,
			Fit: "spectral"},
		Algorithm: Algorithm{
			Name:            "enkg",
			OnMemberFailure: "error",
			EnKG: EnKG{Members: e.Members, Steps: e.Steps, Updates: e.Updates, Scale: e.Scale, SigmaMax: e.SigmaMax,
				SigmaMin: e.SigmaMin, Rho: e.Rho, ThresholdStart: e.ThresholdStart, ThresholdEnd: e.ThresholdEnd,
				LRMinRatio: e.LRMinRatio, ODESigmaMin: e.ODESigmaMin, MaxODESteps: e.MaxODESteps},
			EKI: EKI{EqualBudget: true, Members: k.Members, Iterations: k.Iterations, Scale: k.Scale},
			DPS: DPS{Members: d.Members, Scale: d.Scale, Queries: d.Queries, BatchSize: d.BatchSize, Mu: d.Mu},
			DPG: DPG{Members: g.Members, Scale: g.Scale, MCSamples: g.MCSamples, BatchSize: g.BatchSize, Beta: g.Beta},
			SCG: SCG{Members: s.Members, Candidates: s.Candidates, BatchSize: s.BatchSize, Threshold: s.Threshold},
			Sch: Schedule{Kind: sch.Kind, Steps: sch.Steps, SigmaMax: sch.SigmaMax, SigmaMin: sch.SigmaMin, Rho: sch.Rho},
			Posterior: Posterior{Members: ps.Members, ESSFraction: ps.ESSFraction, Moves: ps.Moves, FinalMoves: ps.FinalMoves,
				MaxMoves: ps.MaxMoves, Decorrelation: ps.Decorrelation,
				TargetAcceptance: ps.TargetAcceptance, InitialStep: ps.InitialStep, Steps: ps.Steps, SigmaMax: ps.SigmaMax,
				SigmaMin: ps.SigmaMin, Rho: ps.Rho, MaxStages: ps.MaxStages},
		},
	}
}

// MaxSeed bounds every seed: seeds are stored as int64 attributes (HDF5) and must match
// `enkg data ns --seed`.
const MaxSeed = math.MaxInt64

// Load reads the YAML file (empty: none), applies the overrides (dotted key=YAML value, e.g.
// "algorithm.enkg.members=64") and decodes strictly onto Defaults: an unknown key, a
// non-integer value for an integer setting (64.0 or 1.5), a negative or too large seed are
// errors.
func Load(file string, sets []string) (Config, error) {
	var b []byte
	if file != "" {
		var err error
		if b, err = os.ReadFile(file); err != nil {
			return Defaults(), err
		}
	}
	cfg, err := decode(b, sets)
	if err != nil && file != "" {
		return cfg, fmt.Errorf("%s: %w", file, err)
	}
	return cfg, err
}

// Parse is Load from YAML text.
func Parse(text string, sets ...string) (Config, error) { return decode([]byte(text), sets) }

func decode(text []byte, sets []string) (Config, error) {
	cfg := Defaults()
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if len(bytes.TrimSpace(text)) > 0 {
		var doc yaml.Node
		if err := yaml.Unmarshal(text, &doc); err != nil {
			return cfg, err
		}
		if len(doc.Content) == 1 {
			if doc.Content[0].Kind != yaml.MappingNode {
				return cfg, fmt.Errorf("%w: the document is not a mapping", ErrConfig)
			}
			root = doc.Content[0]
		}
	}
	for _, s := range sets {
		if err := applySet(root, s); err != nil {
			return cfg, err
		}
	}
	if err := checkNode(root, reflect.TypeOf(cfg), ""); err != nil {
		return cfg, err
	}
	b, err := yaml.Marshal(root)
	if err != nil {
		return cfg, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && err != io.EOF {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

func applySet(root *yaml.Node, s string) error {
	key, val, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return fmt.Errorf("--set %q: want key=value (e.g. algorithm.enkg.members=64)", s)
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(val), &v); err != nil {
		return fmt.Errorf("--set %s: value: %w", key, err)
	}
	value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if len(v.Content) == 1 {
		value = v.Content[0]
	}
	node := root
	parts := strings.Split(key, ".")
	for i, p := range parts {
		var found *yaml.Node
		for k := 0; k+1 < len(node.Content); k += 2 {
			if node.Content[k].Value == p {
				found = node.Content[k+1]
			}
		}
		last := i == len(parts)-1
		if last {
			if found != nil {
				*found = *value
			} else {
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}, value)
			}
			return nil
		}
		if found == nil {
			found = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}, found)
		} else if found.Kind != yaml.MappingNode {
			return fmt.Errorf("--set %s: %s is not a section", key, p)
		}
		node = found
	}
	return nil
}

// checkNode rejects floats for integer settings and out-of-range seeds before decoding (the
// YAML decoder would truncate 1.5 to 1).
func checkNode(n *yaml.Node, t reflect.Type, path string) error {
	if n == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Float64, reflect.Float32, reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
			return fmt.Errorf("%s: %w: no value (leave the key out for its default)", path, ErrConfig)
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder reports it
		}
		for k := 0; k+1 < len(n.Content); k += 2 {
			name := n.Content[k].Value
			known := false
			var keys []string
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if tag == "" || tag == "-" {
					continue
				}
				keys = append(keys, tag)
				if tag == name {
					known = true
					if err := checkNode(n.Content[k+1], f.Type, join(path, name)); err != nil {
						return err
					}
				}
			}
			if !known && len(keys) > 0 {
				return fmt.Errorf("%s: %w: unknown key (keys here: %s)", join(path, name), ErrConfig, strings.Join(keys, ", "))
			}
		}
	case reflect.Array, reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				if err := checkNode(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case reflect.Float64, reflect.Float32:
		if n.Kind == yaml.ScalarNode {
			var v float64
			if err := n.Decode(&v); err != nil {
				return fmt.Errorf("%s: %w: %q is not a number", path, ErrConfig, n.Value)
			}
		}
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32:
		if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!float" && n.ShortTag() != "!!int" {
			return fmt.Errorf("%s: %w: %q is not an integer", path, ErrConfig, n.Value)
		}
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			// YAML tags integers too large for int64 (2⁶⁴, 1e30) as floats: say which it is.
			if f, _, err := big.ParseFloat(strings.TrimSpace(n.Value), 10, 256, big.ToNearestEven); err == nil && f.IsInt() && new(big.Float).Abs(f).Cmp(big.NewFloat(math.MaxInt64)) > 0 {
				return fmt.Errorf("%s: %w: %s is out of range (integer settings are at most 2⁶³ − 1)", path, ErrConfig, n.Value)
			}
			return fmt.Errorf("%s: %w: %q is not an integer", path, ErrConfig, n.Value)
		}
		if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 && n.Kind == yaml.ScalarNode && strings.HasPrefix(strings.TrimSpace(n.Value), "-") {
			return fmt.Errorf("%s: %w: %s must be ≥ 0", path, ErrConfig, n.Value)
		}
		if t.Kind() == reflect.Uint64 && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
			var v uint64
			if err := n.Decode(&v); err == nil && v > MaxSeed {
				return fmt.Errorf("%s: %w: %d exceeds 2⁶³ − 1 (seeds are stored as int64)", path, ErrConfig, v)
			}
		}
	}
	return nil
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// Marshal returns the YAML of the fully resolved configuration (rerunning it reproduces the
// run).
func (c Config) Marshal() ([]byte, error) { return yaml.Marshal(c) }
