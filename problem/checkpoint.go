package problem

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/enkg-go/enkg/guidance"
)

// CheckpointFile is the name of the checkpoint a resumable solve (EnKG, EKI) keeps in its
// output directory: the particles in the prior's normalised space after the last completed
// step, the step, the evaluation counts (guidance.Checkpoint.Save; an .npz archive), and a
// fingerprint of the configuration.
const CheckpointFile = "checkpoint.npz"

// ErrCheckpoint reports a checkpoint that belongs to another configuration.
var ErrCheckpoint = errors.New("problem: checkpoint of another configuration")

// checkpointMeta is the fingerprint stored in guidance.Checkpoint.Meta.
type checkpointMeta struct {
	// Config is the SHA-256 of the resolved configuration without workers (results do not
	// depend on it).
	Config string `json:"config_sha256"`
	// Code is the version of the program that wrote the checkpoint (CodeVersion).
	Code string `json:"code"`
}

// ConfigFingerprint is the SHA-256 (hex) of the resolved configuration, workers excluded:
// two configurations with the same fingerprint describe the same run.
func (c Config) ConfigFingerprint() (string, error) {
	c.Workers = 0
	b, err := c.Marshal()
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// CodeVersion is the version of the running program: its module version and VCS revision
// (with "+modified" for a dirty tree) when the build recorded them, else "devel".
func CodeVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	var rev, mod string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				mod = "+modified"
			}
		}
	}
	if rev != "" {
		v += " " + rev + mod
	}
	if v == "" {
		v = "devel"
	}
	return v
}

func (c Config) checkpointMeta() (string, error) {
	fp, err := c.ConfigFingerprint()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(checkpointMeta{Config: fp, Code: CodeVersion()})
	return string(b), err
}

// Checkpointer returns the guidance.Options.Checkpoint function that writes the state of a
// run of c into dir/CheckpointFile after every step, atomically (the previous checkpoint
// stays whole until the new one is complete), stamped with c's fingerprint.
func (c Config) Checkpointer(dir string) (func(*guidance.Checkpoint) error, error) {
	meta, err := c.checkpointMeta()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, CheckpointFile)
	return func(cp *guidance.Checkpoint) error {
		cp.Meta = meta
		return cp.Save(path)
	}, nil
}

// LoadCheckpoint reads dir/CheckpointFile for guidance.Options.Resume of a run of c. It
// returns a nil checkpoint when there is none and an error wrapping ErrCheckpoint when it
// belongs to another configuration (workers aside). note is non-empty when another version of the program wrote
// it: the result is then bit-identical to an uninterrupted run only if the numerics did not
// change in between.
func (c Config) LoadCheckpoint(dir string) (cp *guidance.Checkpoint, note string, err error) {
	path := filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, "", nil
	}
	cp, err = guidance.LoadCheckpoint(path)
	if err != nil {
		return nil, "", err
	}
	var got checkpointMeta
	if err := json.Unmarshal([]byte(cp.Meta), &got); err != nil {
		return nil, "", fmt.Errorf("%w: %s has no configuration fingerprint", ErrCheckpoint, path)
	}
	fp, err := c.ConfigFingerprint()
	if err != nil {
		return nil, "", err
	}
	if got.Config != fp {
		return nil, "", fmt.Errorf("%w: %s was written by a run of another configuration", ErrCheckpoint, path)
	}
	if code := CodeVersion(); got.Code != code {
		note = fmt.Sprintf("%s was written by enkg %s, this is %s", path, got.Code, code)
	}
	return cp, note, nil
}

// RemoveCheckpoint deletes dir/CheckpointFile (after the complete results are saved).
func RemoveCheckpoint(dir string) error {
	err := os.Remove(filepath.Join(dir, CheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
