package bench

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Chart writes a PNG bar chart of each create run's rate as a share of the quota-bound rate
// (over the whole apply and over the write phase), with the 0.9 target as a line.
func (res Results) Chart(file string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Creating licensed users: achieved / quota-bound rate (%s latency)", res.Latency)
	p.Y.Label.Text = "share of the quota-bound users/s"
	var wall, writes plotter.Values
	var names []string
	for _, r := range res.Users {
		w, wr := r.CreateRatio()
		wall, writes = append(wall, w), append(writes, wr)
		short := "bulk"
		if r.Mode == ModeForEach {
			short = "for_each"
		}
		names = append(names, fmt.Sprintf("%s %d", short, r.N))
	}
	if len(names) == 0 {
		return fmt.Errorf("no users run to chart")
	}
	width := vg.Points(18)
	b1, err := plotter.NewBarChart(wall, width)
	if err != nil {
		return err
	}
	b1.Color = color.RGBA{R: 0x4e, G: 0x79, B: 0xa7, A: 0xff}
	b1.Offset = -width / 2
	b2, err := plotter.NewBarChart(writes, width)
	if err != nil {
		return err
	}
	b2.Color = color.RGBA{R: 0xf2, G: 0x8e, B: 0x2b, A: 0xff}
	b2.Offset = width / 2
	target, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 0.9}, {X: float64(len(names)) - 0.5, Y: 0.9}})
	if err != nil {
		return err
	}
	target.Color = color.RGBA{R: 0xc0, A: 0xff}
	target.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(b1, b2, target, plotter.NewGrid())
	p.Legend.Add("whole terraform apply", b1)
	p.Legend.Add("write phase", b2)
	p.Legend.Add("target 0.9", target)
	p.Legend.Top = true // top right: above the for_each bars, the lowest
	p.NominalX(names...)
	p.Y.Min = 0
	p.Y.Max = 1.3
	for _, v := range append(append([]float64{}, wall...), writes...) {
		p.Y.Max = max(p.Y.Max, v*1.1+0.15) // a short write phase can beat the steady rate (the bucket's burst)
	}
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"}, {Value: 0.5, Label: "0.5"},
		{Value: 0.75, Label: "0.75"}, {Value: 0.9, Label: "0.9"}, {Value: 1, Label: "1"}})
	return p.Save(vg.Points(float64(140+110*len(names))), 5*vg.Inch, file)
}
