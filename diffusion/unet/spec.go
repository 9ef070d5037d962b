package unet

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// FormatVersion names the model description format written by tools/export_weights.py.
const FormatVersion = "enkg-unet/1"

// Spec is the model description: which preconditioner wraps which network, with the
// arguments of both constructors (named as in NVlabs/edm training/networks.py) and an
// optional data normalisation. It is stored as JSON next to the weights.
type Spec struct {
	// Format is FormatVersion ("enkg-unet/1"); empty is accepted.
	Format  string      `json:"format,omitempty"`
	Precond PrecondSpec `json:"precond"`
	Network NetworkSpec `json:"network"`
	// Normalization maps user space to model space: x_model = (x − Mean)/Std, and
	// σ_model = σ/Std; D is mapped back by D = Mean + Std·D_model. Zero value: identity.
	Normalization Normalization `json:"normalization"`
}

// Normalization is an affine map between the user's data space and the space the model
// was trained in. Std = 0 means 1.
type Normalization struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// PrecondSpec selects the preconditioner. Type is "EDM", "VP" or "VE" (the class names
// EDMPrecond, VPPrecond, VEPrecond are accepted too). Zero fields take the class defaults:
// EDM sigma_data 0.5; VP beta_d 19.9, beta_min 0.1, M 1000, epsilon_t 1e-5; VE sigma_min
// 0.02, sigma_max 100. SigmaMin/SigmaMax are informational (forward does not clamp).
type PrecondSpec struct {
	Type      string  `json:"type"`
	SigmaData float64 `json:"sigma_data,omitempty"`
	BetaD     float64 `json:"beta_d,omitempty"`
	BetaMin   float64 `json:"beta_min,omitempty"`
	M         float64 `json:"M,omitempty"`
	EpsilonT  float64 `json:"epsilon_t,omitempty"`
	SigmaMin  float64 `json:"sigma_min,omitempty"`
	SigmaMax  float64 `json:"sigma_max,omitempty"`
}

// NetworkSpec holds the constructor arguments of SongUNet or DhariwalUNet. Zero values
// take the EDM class defaults (see Defaults). Type is "SongUNet" or "DhariwalUNet".
type NetworkSpec struct {
	Type             string `json:"type"`
	ImgResolution    int    `json:"img_resolution"`
	InChannels       int    `json:"in_channels"`
	OutChannels      int    `json:"out_channels"`
	LabelDim         int    `json:"label_dim"`
	AugmentDim       int    `json:"augment_dim"`
	ModelChannels    int    `json:"model_channels"`
	ChannelMult      []int  `json:"channel_mult"`
	ChannelMultEmb   int    `json:"channel_mult_emb"`
	NumBlocks        int    `json:"num_blocks"`
	AttnResolutions  []int  `json:"attn_resolutions"`
	EmbeddingType    string `json:"embedding_type,omitempty"`
	ChannelMultNoise int    `json:"channel_mult_noise,omitempty"`
	EncoderType      string `json:"encoder_type,omitempty"`
	DecoderType      string `json:"decoder_type,omitempty"`
	ResampleFilter   []int  `json:"resample_filter,omitempty"`
}

// rawNetwork is used to tell "absent" from "zero" for list and int fields.
type rawNetwork struct {
	Type             string `json:"type"`
	ImgResolution    *int   `json:"img_resolution"`
	InChannels       *int   `json:"in_channels"`
	OutChannels      *int   `json:"out_channels"`
	LabelDim         *int   `json:"label_dim"`
	AugmentDim       *int   `json:"augment_dim"`
	ModelChannels    *int   `json:"model_channels"`
	ChannelMult      []int  `json:"channel_mult"`
	ChannelMultEmb   *int   `json:"channel_mult_emb"`
	NumBlocks        *int   `json:"num_blocks"`
	AttnResolutions  *[]int `json:"attn_resolutions"`
	Dropout          any    `json:"dropout"`
	LabelDropout     any    `json:"label_dropout"`
	EmbeddingType    string `json:"embedding_type"`
	ChannelMultNoise *int   `json:"channel_mult_noise"`
	EncoderType      string `json:"encoder_type"`
	DecoderType      string `json:"decoder_type"`
	ResampleFilter   []int  `json:"resample_filter"`
}

func (r rawNetwork) resolve(typ string) (NetworkSpec, error) {
	if typ == "" {
		typ = r.Type
	}
	n := NetworkSpec{Type: canonicalNet(typ)}
	if n.Type == "" {
		return n, fmt.Errorf("unet: unknown network type %q (want SongUNet or DhariwalUNet; InverseBench's 'ADM' UNetModel is a different network)", typ)
	}
	d := Defaults(n.Type)
	pick := func(p *int, def int) int {
		if p == nil {
			return def
		}
		return *p
	}
	if r.ImgResolution == nil {
		return n, errors.New("unet: network img_resolution is required")
	}
	n.ImgResolution = *r.ImgResolution
	n.InChannels = pick(r.InChannels, 1)
	n.OutChannels = pick(r.OutChannels, n.InChannels)
	n.LabelDim = pick(r.LabelDim, 0)
	n.AugmentDim = pick(r.AugmentDim, 0)
	n.ModelChannels = pick(r.ModelChannels, d.ModelChannels)
	n.ChannelMult = d.ChannelMult
	if r.ChannelMult != nil {
		n.ChannelMult = r.ChannelMult
	}
	n.ChannelMultEmb = pick(r.ChannelMultEmb, d.ChannelMultEmb)
	n.NumBlocks = pick(r.NumBlocks, d.NumBlocks)
	n.AttnResolutions = d.AttnResolutions
	if r.AttnResolutions != nil {
		n.AttnResolutions = *r.AttnResolutions
	}
	n.EmbeddingType, n.EncoderType, n.DecoderType = r.EmbeddingType, r.EncoderType, r.DecoderType
	n.ChannelMultNoise = pick(r.ChannelMultNoise, d.ChannelMultNoise)
	n.ResampleFilter = r.ResampleFilter
	if n.Type == "SongUNet" {
		if n.EmbeddingType == "" {
			n.EmbeddingType = d.EmbeddingType
		}
		if n.EncoderType == "" {
			n.EncoderType = d.EncoderType
		}
		if n.DecoderType == "" {
			n.DecoderType = d.DecoderType
		}
		if n.ResampleFilter == nil {
			n.ResampleFilter = d.ResampleFilter
		}
	}
	return n, nil
}

// Defaults returns the EDM constructor defaults of the network class typ (img_resolution,
// channels and label/augment dims are left zero).
func Defaults(typ string) NetworkSpec {
	switch canonicalNet(typ) {
	case "SongUNet":
		return NetworkSpec{Type: "SongUNet", ModelChannels: 128, ChannelMult: []int{1, 2, 2, 2},
			ChannelMultEmb: 4, NumBlocks: 4, AttnResolutions: []int{16}, EmbeddingType: "positional",
			ChannelMultNoise: 1, EncoderType: "standard", DecoderType: "standard", ResampleFilter: []int{1, 1}}
	case "DhariwalUNet":
		return NetworkSpec{Type: "DhariwalUNet", ModelChannels: 192, ChannelMult: []int{1, 2, 3, 4},
			ChannelMultEmb: 4, NumBlocks: 3, AttnResolutions: []int{32, 16, 8}}
	}
	return NetworkSpec{}
}

func canonicalNet(s string) string {
	s = s[strings.LastIndex(s, ".")+1:]
	switch strings.ToLower(s) {
	case "songunet":
		return "SongUNet"
	case "dhariwalunet":
		return "DhariwalUNet"
	}
	return ""
}

func canonicalPrecond(s string) string {
	s = s[strings.LastIndex(s, ".")+1:]
	switch strings.ToLower(s) {
	case "edm", "edmprecond":
		return "EDM"
	case "vp", "vpprecond":
		return "VP"
	case "ve", "veprecond":
		return "VE"
	}
	return ""
}

// Validate checks the description: known classes, positive sizes, a resolution divisible
// by 2^(levels−1), and only the options this package implements (every SongUNet and
// DhariwalUNet option of NVlabs/edm except class conditioning: label_dim > 0 is an error),
// and fills in the class defaults.
func (s *Spec) Validate() error {
	if s.Format != "" && s.Format != FormatVersion {
		return fmt.Errorf("unet: unknown description format %q (want %q)", s.Format, FormatVersion)
	}
	p := &s.Precond
	if canonicalPrecond(p.Type) == "" {
		return fmt.Errorf("unet: unknown preconditioner %q (want EDM, VP or VE)", p.Type)
	}
	p.Type = canonicalPrecond(p.Type)
	switch p.Type {
	case "EDM":
		if p.SigmaData == 0 {
			p.SigmaData = 0.5
		}
		if p.SigmaMax == 0 {
			p.SigmaMax = math.Inf(1) // EDMPrecond's default; not used by the forward pass
		}
		if !(p.SigmaData > 0) || math.IsInf(p.SigmaData, 0) {
			return fmt.Errorf("unet: sigma_data %v must be positive", p.SigmaData)
		}
	case "VP":
		if p.BetaD == 0 {
			p.BetaD = 19.9
		}
		if p.BetaMin == 0 {
			p.BetaMin = 0.1
		}
		if p.M == 0 {
			p.M = 1000
		}
		if p.EpsilonT == 0 {
			p.EpsilonT = 1e-5
		}
		if !(p.BetaD > 0) || !(p.BetaMin >= 0) || !(p.M > 0) {
			return fmt.Errorf("unet: VP parameters beta_d=%v beta_min=%v M=%v out of range", p.BetaD, p.BetaMin, p.M)
		}
	case "VE":
		if p.SigmaMin == 0 {
			p.SigmaMin = 0.02
		}
		if p.SigmaMax == 0 {
			p.SigmaMax = 100
		}
	}
	if s.Normalization.Std == 0 {
		s.Normalization.Std = 1
	}
	if !(s.Normalization.Std > 0) || math.IsInf(s.Normalization.Std, 0) || math.IsNaN(s.Normalization.Mean) {
		return fmt.Errorf("unet: normalization std %v must be positive and finite", s.Normalization.Std)
	}
	n := &s.Network
	if t := canonicalNet(n.Type); t == "" {
		return fmt.Errorf("unet: unknown network type %q (want SongUNet or DhariwalUNet)", n.Type)
	} else {
		n.Type = t
	}
	if n.ImgResolution <= 0 || n.InChannels <= 0 || n.OutChannels <= 0 || n.ModelChannels <= 0 ||
		n.ChannelMultEmb <= 0 || n.NumBlocks < 0 || len(n.ChannelMult) == 0 {
		return fmt.Errorf("unet: network sizes must be positive: img_resolution=%d in_channels=%d out_channels=%d model_channels=%d channel_mult=%v channel_mult_emb=%d num_blocks=%d",
			n.ImgResolution, n.InChannels, n.OutChannels, n.ModelChannels, n.ChannelMult, n.ChannelMultEmb, n.NumBlocks)
	}
	for _, m := range n.ChannelMult {
		if m <= 0 {
			return fmt.Errorf("unet: channel_mult %v must be positive", n.ChannelMult)
		}
	}
	if r := n.ImgResolution >> (len(n.ChannelMult) - 1); r<<(len(n.ChannelMult)-1) != n.ImgResolution || r == 0 {
		return fmt.Errorf("unet: img_resolution %d is not divisible by 2^%d (channel_mult %v)", n.ImgResolution, len(n.ChannelMult)-1, n.ChannelMult)
	}
	if n.LabelDim != 0 {
		return fmt.Errorf("unet: label_dim=%d: class-conditional models are not supported (the EnKG priors are unconditional)", n.LabelDim)
	}
	if n.AugmentDim < 0 {
		return fmt.Errorf("unet: augment_dim %d < 0", n.AugmentDim)
	}
	if n.Type == "SongUNet" {
		if n.ChannelMultNoise <= 0 {
			n.ChannelMultNoise = 1
		}
		if n.EmbeddingType != "positional" && n.EmbeddingType != "fourier" {
			return fmt.Errorf("unet: SongUNet embedding_type %q is not supported (want \"positional\" or \"fourier\")", n.EmbeddingType)
		}
		if n.EncoderType != "standard" && n.EncoderType != "skip" && n.EncoderType != "residual" {
			return fmt.Errorf("unet: SongUNet encoder_type %q is not supported (want standard, skip or residual)", n.EncoderType)
		}
		if n.DecoderType != "standard" && n.DecoderType != "skip" {
			return fmt.Errorf("unet: SongUNet decoder_type %q is not supported (want standard or skip)", n.DecoderType)
		}
		if len(n.ResampleFilter) == 0 {
			return errors.New("unet: SongUNet resample_filter is empty")
		}
		sum := 0
		for _, f := range n.ResampleFilter {
			sum += f
		}
		if sum == 0 {
			return fmt.Errorf("unet: resample_filter %v sums to zero", n.ResampleFilter)
		}
		if len(n.ResampleFilter)%2 != 0 {
			return fmt.Errorf("unet: resample_filter %v has odd length (the 2x up/down sampling needs an even FIR length)", n.ResampleFilter)
		}
	} else {
		n.ResampleFilter = []int{1, 1}
		if n.ModelChannels*minInt(n.ChannelMult) < 4 {
			return fmt.Errorf("unet: model_channels %d too small for GroupNorm", n.ModelChannels)
		}
	}
	return nil
}

func minInt(v []int) int {
	m := v[0]
	for _, x := range v {
		m = min(m, x)
	}
	return m
}

// refConfig is the reference generator's <case>_config.json (fields we need).
type refConfig struct {
	PrecondClass    string                     `json:"precond_class"`
	ModelClass      string                     `json:"model_class"`
	PrecondResolved map[string]json.RawMessage `json:"precond_constructor_resolved"`
	ModelResolved   json.RawMessage            `json:"model_constructor_resolved"`
	PrecondParams   map[string]json.RawMessage `json:"precond_params"`
}

// ParseSpec reads a model description from JSON. It accepts our own format (keys
// "precond", "network") and the reference generator's config (keys "precond_class",
// "model_class", "precond_constructor_resolved", "model_constructor_resolved"). The
// result is validated.
func ParseSpec(data []byte) (*Spec, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("unet: model description is not a JSON object: %w", err)
	}
	var s Spec
	if _, ok := probe["precond_class"]; ok {
		var rc refConfig
		if err := json.Unmarshal(data, &rc); err != nil {
			return nil, fmt.Errorf("unet: reference config: %w", err)
		}
		s.Precond.Type = rc.PrecondClass
		num := func(m map[string]json.RawMessage, k string) float64 {
			raw, ok := m[k]
			if !ok {
				return 0
			}
			var v any
			if json.Unmarshal(raw, &v) != nil {
				return 0
			}
			switch t := v.(type) {
			case float64:
				return t
			case string:
				if strings.EqualFold(t, "inf") {
					return math.Inf(1)
				}
			}
			return 0
		}
		for _, m := range []map[string]json.RawMessage{rc.PrecondParams, rc.PrecondResolved} {
			if m == nil {
				continue
			}
			for _, f := range []struct {
				k string
				p *float64
			}{{"sigma_data", &s.Precond.SigmaData}, {"beta_d", &s.Precond.BetaD}, {"beta_min", &s.Precond.BetaMin},
				{"M", &s.Precond.M}, {"epsilon_t", &s.Precond.EpsilonT}, {"sigma_min", &s.Precond.SigmaMin},
				{"sigma_max", &s.Precond.SigmaMax}} {
				if v := num(m, f.k); v != 0 && *f.p == 0 {
					*f.p = v
				}
			}
		}
		var rn rawNetwork
		if err := json.Unmarshal(rc.ModelResolved, &rn); err != nil {
			return nil, fmt.Errorf("unet: model_constructor_resolved: %w", err)
		}
		net, err := rn.resolve(rc.ModelClass)
		if err != nil {
			return nil, err
		}
		s.Network = net
	} else {
		var raw struct {
			Format        string          `json:"format"`
			Precond       PrecondSpec     `json:"precond"`
			Network       json.RawMessage `json:"network"`
			Normalization Normalization   `json:"normalization"`
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("unet: model description: %w", err)
		}
		if raw.Network == nil {
			return nil, errors.New("unet: model description has no \"network\"")
		}
		var rn rawNetwork
		if err := json.Unmarshal(raw.Network, &rn); err != nil {
			return nil, fmt.Errorf("unet: network: %w", err)
		}
		net, err := rn.resolve("")
		if err != nil {
			return nil, err
		}
		s = Spec{Format: raw.Format, Precond: raw.Precond, Network: net, Normalization: raw.Normalization}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// LoadSpec reads and parses a model description file (see ParseSpec).
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unet: %w", err)
	}
	s, err := ParseSpec(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// describe returns a copy ready for JSON, with the format set.
func (s Spec) describe() Spec {
	s.Format = FormatVersion
	// JSON has no infinity: an unbounded range is written as absent
	if math.IsInf(s.Precond.SigmaMax, 0) {
		s.Precond.SigmaMax = 0
	}
	if math.IsInf(s.Precond.SigmaMin, 0) {
		s.Precond.SigmaMin = 0
	}
	return s
}

// JSON returns the description in our own format, indented.
func (s *Spec) JSON() ([]byte, error) {
	return json.MarshalIndent(s.describe(), "", "  ")
}
