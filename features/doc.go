// Package features is rolloutlab's Gherkin suite: the user guides it reproduces, written as
// godog feature files (*.feature) in the user's words, with the step definitions in this
// package's tests. `go test ./features/` plays every scenario in the simulation; see README.md.
package features
