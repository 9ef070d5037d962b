// Package configfuzz holds the fuzz targets of enkg's configuration parsing (issue 15): the
// YAML config loader and the --set overrides of package problem (`enkg solve --config …
// --set key=value`). It has no code of its own; the targets live in its tests, apart from
// package problem so that they compile against its exported API only:
//
//   - FuzzConfigParse: problem.Parse(text, set) on arbitrary YAML and override text must
//     return (never panic), and a configuration it accepts must survive Marshal and Parse
//     unchanged (so that the config.yaml written with a run reproduces it).
//   - FuzzConfigSets: arbitrary overrides applied to a valid published config, with the same
//     properties, and an integer setting given a non-integral or out-of-range number must be
//     an error (numbers are parsed strictly: 16.7 never becomes 16, 2⁶⁴ never 2⁶³).
//
// `go test ./internal/configfuzz` runs the seed corpus (as `make test` does for every
// fuzzer); `go test ./internal/configfuzz -fuzz FuzzConfigParse` fuzzes.
package configfuzz
