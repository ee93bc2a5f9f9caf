//go:build !race

package phone

const raceDetector = false
