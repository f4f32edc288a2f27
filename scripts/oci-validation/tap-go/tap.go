// Package tap writes Test Anything Protocol (TAP version 13) output.
//
// It provides the API of github.com/mndrix/tap-go that the OCI
// runtime-tools validation suite (runtimetest and validation/*) calls,
// because that package is not in Debian. It is written for hull's
// scripts/oci-validation build and placed in its GOPATH overlay as
// github.com/mndrix/tap-go. YAML blocks are written as indented JSON,
// which is valid YAML, so no YAML library is needed.
package tap

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// T is a TAP producer. Copies made by Todo share the test counter.
type T struct {
	next *int
	// TODO marks every following test result as a TODO test.
	TODO bool
	// Writer receives the output; nil means os.Stdout.
	Writer io.Writer
}

// New returns a producer whose first test is number 1.
func New() *T {
	n := 1
	return &T{next: &n}
}

func (t *T) printf(format string, a ...interface{}) {
	w := t.Writer
	if w == nil {
		w = os.Stdout
	}
	fmt.Fprintf(w, format, a...)
}

// Header writes the version line and, when testCount > 0, the plan.
func (t *T) Header(testCount int) {
	t.printf("TAP version 13\n")
	if testCount > 0 {
		t.printf("1..%d\n", testCount)
	}
}

// Ok writes one test result.
func (t *T) Ok(test bool, description string) {
	status := "ok"
	if !test {
		status = "not ok"
	}
	if t.TODO {
		t.printf("%s %d # TODO %s\n", status, *t.next, description)
	} else {
		t.printf("%s %d - %s\n", status, *t.next, description)
	}
	*t.next++
}

// Fail writes a failing test result.
func (t *T) Fail(description string) { t.Ok(false, description) }

// Pass writes a passing test result.
func (t *T) Pass(description string) { t.Ok(true, description) }

// Skip writes count skipped tests.
func (t *T) Skip(count int, description string) {
	for i := 0; i < count; i++ {
		t.printf("ok %d # SKIP %s\n", *t.next, description)
		*t.next++
	}
}

// Todo returns a producer sharing this one's counter whose results are
// TODO tests.
func (t *T) Todo() *T {
	c := *t
	c.TODO = true
	return &c
}

// Count is the number of test results written so far.
func (t *T) Count() int { return *t.next - 1 }

// AutoPlan writes the plan for the tests written so far (a trailing plan).
func (t *T) AutoPlan() { t.printf("1..%d\n", t.Count()) }

func comment(s string) string {
	return strings.Replace(strings.TrimRight(s, "\n"), "\n", "\n# ", -1)
}

// Diagnostic writes a comment line (continuation lines are commented too).
func (t *T) Diagnostic(message string) { t.printf("# %s\n", comment(message)) }

// Diagnosticf is Diagnostic with a format.
func (t *T) Diagnosticf(format string, a ...interface{}) {
	t.Diagnostic(fmt.Sprintf(format, a...))
}

// YAML writes message as a YAML block attached to the last test result.
func (t *T) YAML(message interface{}) error {
	b, err := json.MarshalIndent(message, "  ", "  ")
	if err != nil {
		return err
	}
	t.printf("  ---\n  %s\n  ...\n", b)
	return nil
}
