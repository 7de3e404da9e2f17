package data_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/autonf/autonf/data"
)

func ExampleLoadCSV() {
	csv := "x,y,label\n1,10,a\n2,20,b\n3,30,a\n4,30,b\n"
	_, err := data.LoadCSV(strings.NewReader(csv), "pts.csv", data.LoadOptions{})
	fmt.Println(err)

	t, _ := data.LoadCSV(strings.NewReader(csv), "pts.csv", data.LoadOptions{Columns: []string{"y", "0"}})
	fmt.Println(t.Columns, t.Rows, t.Cols, t.Row(3))

	dq, _ := data.FitDequantizer(t, "auto")
	fmt.Println("dequantize", dq.Names, "steps", dq.Steps)
	noisy := dq.Apply(t, rand.New(rand.NewPCG(1, 2)))
	s, _, _ := data.FitStandardizer(noisy, "drop")
	y, _ := s.Apply(noisy)
	fmt.Println(y.Cols, "standardised columns")
	// Output:
	// pts.csv column "label" (index 2): column is not numeric (e.g. "a" on line 2); select the numeric columns with --columns (LoadOptions.Columns), e.g. --columns x,y
	// [y x] 4 2 [30 4]
	// dequantize [y x] steps [1 1]
	// 2 standardised columns
}

func ExampleToy() {
	t, _ := data.Toy("moons", 1000, 1)
	fmt.Println(t.Source, t.Rows, t.Cols, t.Columns)

	tr, va, te, _ := data.Split(t, nil, nil, data.SplitOptions{Shuffle: true, Seed: 7})
	fmt.Println(tr.Rows, va.Rows, te.Rows)
	// Output:
	// toy:moons 1000 2 [c0 c1]
	// 800 100 100
}
