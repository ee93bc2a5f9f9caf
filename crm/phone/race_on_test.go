//go:build race

package phone

// raceDetector is true under -race, which slows the library tenfold: the
// comparisons with the library then cover fewer regions.
const raceDetector = true
