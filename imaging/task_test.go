package imaging

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestTaskFromYAML(t *testing.T) {
	src := `
name: inpaint-box
channels: 1
height: 32
width: 32
seed: 3
box_size: [12, 17]
margin: [2, 2]
`
	var task Task
	if err := yaml.Unmarshal([]byte(src), &task); err != nil {
		t.Fatal(err)
	}
	f, err := task.Factory()
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f()
	b, _ := f()
	ma, mb := a.(*Inpaint).Mask(), b.(*Inpaint).Mask()
	if maxAbsDiff(ma, mb) != 0 {
		t.Error("two instances of one task draw different masks")
	}
	want, _, _ := BoxMask(32, 32, BoxMaskSettings{SizeRange: [2]int{12, 17}, Margin: [2]int{2, 2}}, 3)
	if maxAbsDiff(ma, want) != 0 {
		t.Error("the YAML task does not build its mask")
	}
}

func TestTaskDefaults(t *testing.T) {
	for _, c := range []struct {
		task   Task
		outDim int
	}{
		{Task{Name: TaskDenoise, C: 3, H: 256, W: 256}, 3 * 256 * 256},
		{Task{Name: TaskInpaintBox, C: 3, H: 256, W: 256}, 3 * 256 * 256},
		{Task{Name: TaskInpaintRandom, C: 1, H: 28, W: 28}, 28 * 28},
		{Task{Name: TaskSuperResolution, C: 3, H: 256, W: 256}, 3 * 64 * 64},
		{Task{Name: TaskSuperResolution, C: 1, H: 28, W: 28, Factor: 2, Bicubic: true}, 14 * 14},
		{Task{Name: TaskGaussianBlur, C: 3, H: 64, W: 64}, 3 * 64 * 64},
		{Task{Name: TaskMotionBlur, C: 1, H: 32, W: 32, KernelSize: 9}, 32 * 32},
		{Task{Name: TaskPhaseRetrieval, C: 3, H: 256, W: 256}, 3 * 384 * 384},
	} {
		op, err := c.task.New()
		if err != nil {
			t.Errorf("%+v: %v", c.task, err)
			continue
		}
		if op.OutputDim() != c.outDim {
			t.Errorf("%s: output dimension %d, want %d", c.task.Name, op.OutputDim(), c.outDim)
		}
	}
	if _, err := (Task{Name: "deblur", C: 1, H: 8, W: 8}).New(); err == nil {
		t.Error("unknown task accepted")
	}
	if _, err := (Task{Name: TaskGaussianBlur, C: 1, H: 28, W: 28}).Factory(); err == nil {
		t.Error("a 61×61 kernel on 28×28 images accepted")
	}
}
