package policy

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

// worstWindows are among the costliest deployment windows ValidateWindow
// still accepts, each at the time of day its evaluation costs most (found
// by search over two days: the walk from the moved anchor is longest just
// before the anchor moves on).
var worstWindows = []struct {
	name string
	rule model.DeploymentWindowRule
	at   time.Time
}{
	{"minutely, 300-minute windows", model.DeploymentWindowRule{RRule: "FREQ=MINUTELY", DurationMinutes: 300},
		time.Date(2026, 3, 10, 4, 59, 0, 0, time.UTC)},
	{"every 7 minutes, 300-minute windows", model.DeploymentWindowRule{RRule: "FREQ=MINUTELY;INTERVAL=7", DurationMinutes: 300},
		time.Date(2026, 3, 10, 23, 59, 0, 0, time.UTC)},
	{"secondly every 60 s from 1970", model.DeploymentWindowRule{
		RRule: "DTSTART:19700101T000000Z\nRRULE:FREQ=SECONDLY;INTERVAL=60", DurationMinutes: 300},
		time.Date(2026, 3, 10, 4, 59, 0, 0, time.UTC)},
	{"hourly, COUNT=5000, near its end", model.DeploymentWindowRule{
		RRule: "DTSTART:20250815T000000Z\nRRULE:FREQ=HOURLY;COUNT=5000", DurationMinutes: 30},
		time.Date(2026, 3, 10, 23, 0, 0, 0, time.UTC)},
}

// BenchmarkDeploymentWindow_WorstAccepted measures one evaluation (a scan
// around now, without the round's memo) of each of worstWindows, and the
// write-time check of it.
//
//	go test ./internal/engine/policy -run '^$' -bench WorstAccepted
func BenchmarkDeploymentWindow_WorstAccepted(b *testing.B) {
	for _, w := range worstWindows {
		if err := ValidateWindow("w", &w.rule, w.at); err != nil {
			b.Fatalf("%s is refused: %v", w.name, err)
		}
		b.Run(w.name+"/evaluate", func(b *testing.B) {
			for b.Loop() {
				if r := evalWindowScan(&w.rule, w.at); r.err != "" {
					b.Fatal(r.err)
				}
			}
		})
		b.Run(w.name+"/validate", func(b *testing.B) {
			for b.Loop() {
				if err := ValidateWindow("w", &w.rule, w.at); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeploymentWindow_Refused measures one evaluation of rules that
// ValidateWindow refuses, as a database written before it may still hold
// them: each is answered (denied, or found to have no window) in bounded
// time.
//
//	go test ./internal/engine/policy -run '^$' -bench Refused
func BenchmarkDeploymentWindow_Refused(b *testing.B) {
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for name, rule := range map[string]model.DeploymentWindowRule{
		"COUNT walked to the step limit": {RRule: "FREQ=SECONDLY;COUNT=2000000000", DurationMinutes: 60},
		"secondly from 1970, step limit": {RRule: "DTSTART:19700101T000000Z\nRRULE:FREQ=SECONDLY", DurationMinutes: 1},
		"a day that never comes, probe":  {RRule: "FREQ=MONTHLY;BYDAY=6MO", DurationMinutes: 60},
		"weekdays the interval misses":   {RRule: "DTSTART:20260103T000000Z\nRRULE:FREQ=HOURLY;INTERVAL=168;BYDAY=TU", DurationMinutes: 60},
	} {
		if err := ValidateWindow("w", &rule, at); err == nil {
			b.Fatalf("%s is accepted", name)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				evalWindowScan(&rule, at)
			}
		})
	}
}
