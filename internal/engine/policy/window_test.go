package policy

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/teambition/rrule-go"

	"github.com/gatehouse-dev/gatehouse/internal/model"
)

func TestEvalDeploymentWindow(t *testing.T) {
	const daily9 = "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0"
	window := func(rr string, minutes int, tz string, allow *bool) string {
		js := `{"id": "r", "deploymentWindow": {"rrule": ` + strconv.Quote(rr) + `, "durationMinutes": ` + strconv.Itoa(minutes)
		if tz != "" {
			js += `, "timezone": ` + strconv.Quote(tz)
		}
		if allow != nil {
			js += `, "allowWindow": ` + strconv.FormatBool(*allow)
		}
		return js + `}}`
	}
	yes, no := true, false
	tests := []struct {
		name       string
		rule       string
		now        string
		undeployed bool // the target has no current release
		want       progWant
	}{
		// Allow windows, UTC (the default timezone).
		{name: "window start is inside", rule: window(daily9, 60, "", nil), now: "2026-03-10T09:00:00Z",
			want: progWant{state: "allowed", satisfiedAt: progTime(t, "2026-03-10T09:00:00Z"), noNext: true,
				msg: "until 10:00 UTC"}},
		{name: "explicit allowWindow true", rule: window(daily9, 60, "UTC", &yes), now: "2026-03-10T09:59:59Z",
			want: progWant{state: "allowed"}},
		{name: "window end is outside", rule: window(daily9, 60, "", nil), now: "2026-03-10T10:00:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-03-11T09:00:00Z"),
				msg: "opens at 2026-03-11 09:00 UTC"}},
		{name: "before the window", rule: window(daily9, 60, "", nil), now: "2026-03-10T08:59:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-03-10T09:00:00Z"), msg: "opens at 09:00 UTC"}},
		{name: "RRULE: prefix and weekly days", rule: window("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9", 120, "", nil),
			now:  "2026-03-10T09:30:00Z", // a Tuesday
			want: progWant{state: "pending", next: progTime(t, "2026-03-11T09:00:00Z")}},
		{name: "explicit DTSTART sets the time of day", rule: window("DTSTART:20260101T133000Z\nRRULE:FREQ=DAILY", 30, "", nil),
			now:  "2026-03-10T13:45:00Z",
			want: progWant{state: "allowed", satisfiedAt: progTime(t, "2026-03-10T13:30:00Z")}},
		{name: "DTSTART with TZID", rule: window("DTSTART;TZID=America/New_York:20260101T090000\r\nRRULE:FREQ=DAILY", 60, "", nil),
			now:  "2026-03-10T13:30:00Z", // 09:30 EDT
			want: progWant{state: "allowed"}},
		{name: "recurrence over", rule: window("FREQ=DAILY;BYHOUR=9;UNTIL=20260301T000000Z", 60, "", nil),
			now:  "2026-03-10T12:00:00Z",
			want: progWant{state: "denied", msg: "no further occurrences"}},

		// Allow windows in New York across the start of DST on 2026-03-08
		// (09:00 EST = 14:00 UTC before, 09:00 EDT = 13:00 UTC after).
		{name: "NY before DST inside", rule: window(daily9, 60, "America/New_York", nil), now: "2026-03-07T14:30:00Z",
			want: progWant{state: "allowed", satisfiedAt: progTime(t, "2026-03-07T14:00:00Z")}},
		{name: "NY before DST, an hour early", rule: window(daily9, 60, "America/New_York", nil), now: "2026-03-07T13:30:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-03-07T14:00:00Z")}},
		{name: "NY on the DST day waits for 09:00 EDT", rule: window(daily9, 60, "America/New_York", nil), now: "2026-03-08T12:00:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-03-08T13:00:00Z")}},
		{name: "NY from the night before DST", rule: window(daily9, 60, "America/New_York", nil), now: "2026-03-07T20:00:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-03-08T13:00:00Z")}},
		{name: "NY after DST inside", rule: window(daily9, 60, "America/New_York", nil), now: "2026-03-09T13:30:00Z",
			want: progWant{state: "allowed", satisfiedAt: progTime(t, "2026-03-09T13:00:00Z")}},
		{name: "NY after DST end is exclusive", rule: window(daily9, 60, "America/New_York", nil), now: "2026-03-09T14:00:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-03-10T13:00:00Z")}},
		{name: "NY back to EST in November", rule: window(daily9, 60, "America/New_York", nil), now: "2026-10-31T20:00:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-11-01T14:00:00Z")}},

		// Deny windows.
		{name: "deny window inside waits for its end", rule: window(daily9, 60, "America/New_York", &no), now: "2026-03-09T13:00:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-03-09T14:00:00Z"), msg: "inside a deny window until 14:00 UTC"}},
		{name: "deny window end is outside", rule: window(daily9, 60, "America/New_York", &no), now: "2026-03-09T14:00:00Z",
			want: progWant{state: "allowed", next: progTime(t, "2026-03-10T13:00:00Z"), msg: "next one starts"}},
		{name: "outside deny window names the next one", rule: window(daily9, 60, "", &no), now: "2026-03-10T08:00:00Z",
			want: progWant{state: "allowed", next: progTime(t, "2026-03-10T09:00:00Z")}},
		{name: "touching deny windows are one", rule: window("FREQ=DAILY;BYHOUR=9,10", 60, "", &no), now: "2026-03-10T09:15:00Z",
			want: progWant{state: "pending", next: progTime(t, "2026-03-10T11:00:00Z")}},
		{name: "overlapping deny windows are one", rule: window("FREQ=WEEKLY;BYDAY=FR,SA,SU;BYHOUR=17", 24*60, "", &no),
			now:  "2026-03-13T18:00:00Z", // Friday
			want: progWant{state: "pending", next: progTime(t, "2026-03-16T17:00:00Z")}},
		{name: "deny recurrence over", rule: window("FREQ=DAILY;COUNT=1", 60, "", &no), now: "2026-03-10T12:00:00Z",
			want: progWant{state: "allowed", noNext: true}},

		// Not applicable, or broken.
		{name: "no current release: ignored", rule: window(daily9, 60, "", nil), now: "2026-03-10T12:00:00Z", undeployed: true,
			want: progWant{state: "allowed", noNext: true, msg: "ignored"}},
		{name: "no current release: deny window ignored", rule: window(daily9, 60, "", &no), now: "2026-03-10T09:30:00Z",
			undeployed: true, want: progWant{state: "allowed", msg: "ignored"}},
		{name: "invalid rrule", rule: window("FREQ=SOMETIMES", 60, "", nil), now: "2026-03-10T12:00:00Z",
			want: progWant{state: "denied", msg: "invalid rrule"}},
		{name: "rrule out of bounds", rule: window("FREQ=DAILY;BYHOUR=25", 60, "", nil), now: "2026-03-10T12:00:00Z",
			want: progWant{state: "denied", msg: "invalid rrule"}},
		{name: "invalid timezone", rule: window(daily9, 60, "Mars/Olympus_Mons", nil), now: "2026-03-10T12:00:00Z",
			want: progWant{state: "denied", msg: "invalid timezone"}},
		{name: "host-dependent timezone", rule: window(daily9, 60, "Local", nil), now: "2026-03-10T12:00:00Z",
			want: progWant{state: "denied", msg: "invalid timezone"}},
		{name: "zero duration", rule: window(daily9, 0, "", nil), now: "2026-03-10T12:00:00Z",
			want: progWant{state: "denied", msg: "durationMinutes"}},

		// Costly or impossible rules, as a database written before they were
		// refused may hold: each answers at once.
		{name: "secondly with a huge COUNT walks from 2000", rule: window("FREQ=SECONDLY;COUNT=2000000000", 60, "", nil),
			now: "2026-03-10T12:00:00Z", want: progWant{state: "denied", msg: "too costly"}},
		{name: "secondly from 1970", rule: window("DTSTART:19700101T000000Z\nRRULE:FREQ=SECONDLY", 1, "", nil),
			now: "2026-03-10T23:00:00Z", want: progWant{state: "denied", msg: "too costly"}},
		{name: "deny window too costly denies too", rule: window("FREQ=SECONDLY;COUNT=2000000000", 60, "", &no),
			now: "2026-03-10T12:00:00Z", want: progWant{state: "denied", msg: "too costly"}},
		{name: "a clock the interval never reaches", rule: window("FREQ=HOURLY;INTERVAL=2;BYHOUR=1", 60, "", nil),
			now: "2026-03-10T12:00:00Z", want: progWant{state: "denied", msg: "never produces an occurrence"}},
		{name: "a second the interval never reaches", rule: window("DTSTART:20260101T000001Z\nRRULE:FREQ=SECONDLY;INTERVAL=2;BYSECOND=0", 60, "", nil),
			now: "2026-03-10T12:00:00Z", want: progWant{state: "denied", msg: "never produces an occurrence"}},
		{name: "a day that never comes", rule: window("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", 60, "", nil),
			now: "2026-03-10T12:00:00Z", want: progWant{state: "denied", msg: "never produces an occurrence"}},
		{name: "hourly from 1970 is skipped ahead, not walked", rule: window("DTSTART:19700101T000000Z\nRRULE:FREQ=HOURLY;INTERVAL=5", 60, "", nil),
			now:  "2026-03-10T13:30:00Z", // 12:00 is 492,540 h, a multiple of 5, after the start
			want: progWant{state: "pending", next: progTime(t, "2026-03-10T17:00:00Z")}},
		{name: "minutely from 1970 inside its window", rule: window("DTSTART:19700101T000000Z\nRRULE:FREQ=MINUTELY;INTERVAL=30", 10, "", nil),
			now:  "2026-03-10T12:35:00Z",
			want: progWant{state: "allowed", satisfiedAt: progTime(t, "2026-03-10T12:30:00Z")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newProgFixture(t)
			f.env("e-prod", "prod", "s1")
			target := f.targets("e-prod", "r1")[0]
			old, v := f.version("v1", progT0.AddDate(0, -6, 0)), f.version("v2", progT0)
			if !tc.undeployed {
				f.job(target, old, model.JobSuccessful, progT0.AddDate(0, -5, 0))
			} else {
				f.job(target, old, model.JobFailure, progT0.AddDate(0, -5, 0))
			}
			got := evalDeploymentWindow(f.input(progTime(t, tc.now), target, v), progRule(t, tc.rule))
			if got.Kind != KindDeploymentWindow || got.RuleID != "r" {
				t.Errorf("kind, ruleId = %q, %q", got.Kind, got.RuleID)
			}
			tc.want.check(t, got)
		})
	}
}

// TestValidateWindow_AlwaysOpenAnyTimeOfDay: the way ctrlplane users write
// "always open" (minutely, a day long) is accepted whatever the time of day
// it is written at: its evaluation starts at most a day back.
func TestValidateWindow_AlwaysOpenAnyTimeOfDay(t *testing.T) {
	w := &model.DeploymentWindowRule{RRule: "FREQ=MINUTELY;INTERVAL=1", DurationMinutes: 1440}
	day := progTime(t, "2026-12-01T00:00:00Z")
	for at := day; at.Before(day.Add(24 * time.Hour)); at = at.Add(17*time.Minute + 13*time.Second) {
		if err := ValidateWindow("w", w, at); err != nil {
			t.Fatalf("written at %s: %v", at.Format(time.RFC3339), err)
		}
	}
}

// TestWindowRule_From checks that moving a recurrence's anchor forward by
// whole periods, which keeps evaluation cheap, never changes the occurrences
// that matter (those from notBefore on), with or without DTSTART.
func TestWindowRule_From(t *testing.T) {
	rules := []string{
		"FREQ=DAILY;BYHOUR=9;BYMINUTE=30",
		"FREQ=DAILY;INTERVAL=3",
		"FREQ=WEEKLY",
		"FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=2",
		"FREQ=WEEKLY;WKST=SU;INTERVAL=3;BYDAY=SU,SA;BYHOUR=23",
		"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=17",
		"FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9",
		"FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=-1",
		"FREQ=YEARLY;BYMONTH=3;BYDAY=2SU;BYHOUR=2;BYMINUTE=30",
		"FREQ=YEARLY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=29",
		"FREQ=HOURLY;INTERVAL=5;BYMONTH=3,4,10,11",
		"FREQ=HOURLY;INTERVAL=7;BYDAY=SA,SU",
		"FREQ=MINUTELY;INTERVAL=7;BYDAY=MO;BYHOUR=9",
		"FREQ=SECONDLY;INTERVAL=3600;BYDAY=SU;BYHOUR=8,20",
		// With DTSTART: moved by whole periods too, keeping its time of day.
		"DTSTART:19700101T000000Z\nRRULE:FREQ=HOURLY;INTERVAL=5",
		"DTSTART:19700101T133000Z\nRRULE:FREQ=DAILY",
		"DTSTART:19700101T000007Z\nRRULE:FREQ=SECONDLY;INTERVAL=3600;BYHOUR=8,20",
		"DTSTART:20250131T090000Z\nRRULE:FREQ=MONTHLY",
		"DTSTART:20240229T090000Z\nRRULE:FREQ=YEARLY;BYMONTH=3,4",
		"DTSTART:19990315T021500\nRRULE:FREQ=WEEKLY;INTERVAL=3",
		"DTSTART:20000101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=90;BYDAY=SA",
		"DTSTART;TZID=America/New_York:20010704T023000\nRRULE:FREQ=DAILY;INTERVAL=2",
	}
	// Lord Howe moves its clocks by 30 minutes; Santiago at midnight.
	zones := []string{"UTC", "America/New_York", "Australia/Lord_Howe", "America/Santiago"}
	// Around the 2026 DST changes in the northern and southern hemispheres.
	notBefores := []time.Time{progTime(t, "2026-03-08T05:30:00Z"), progTime(t, "2026-04-04T12:00:00Z"),
		progTime(t, "2026-06-15T13:29:59Z"), progTime(t, "2026-11-01T05:00:00Z")}
	const span = 40 * 24 * time.Hour
	for _, zone := range zones {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range rules {
			t.Run(zone+"/"+text, func(t *testing.T) {
				t.Parallel()
				rule, err := parseWindowRule(text, loc)
				if err != nil {
					t.Fatal(err)
				}
				// One walk from the true start, never moved, is the reference.
				full, err := rule.from(time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				reference := full.Between(notBefores[0], notBefores[len(notBefores)-1].Add(span), true)
				for _, nb := range notBefores {
					fast, err := rule.from(nb)
					if err != nil {
						t.Fatal(err)
					}
					if a := fast.GetDTStart(); a.Equal(full.GetDTStart()) || a.After(nb) {
						t.Errorf("from %v: anchor %v not moved to before it", nb, a)
					}
					var want []time.Time
					for _, o := range reference {
						if !o.Before(nb) && !o.After(nb.Add(span)) {
							want = append(want, o)
						}
					}
					if got := fast.Between(nb, nb.Add(span), true); !slices.EqualFunc(want, got, time.Time.Equal) {
						t.Errorf("from %v: moved anchor %v gives\n%v\nwant\n%v", nb, fast.GetDTStart(), got, want)
					}
				}
			})
		}
	}
}

// TestSkipPeriods_SkippedMidnight checks that the anchor is never moved onto
// a day whose midnight does not exist, from which rrule-go would take another
// time of day for every occurrence.
func TestSkipPeriods_SkippedMidnight(t *testing.T) {
	loc, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	if m := time.Date(2026, 9, 6, 0, 0, 0, 0, loc); m.Hour() == 0 {
		t.Skipf("tzdata: midnight of 2026-09-06 exists in Santiago (%v)", m)
	}
	anchor := windowAnchor(loc)
	// The period holding noon of 2026-09-06 starts at its midnight, which is
	// skipped: one more period back.
	if got, want := skipPeriods(rrule.DAILY, 1, anchor, time.Date(2026, 9, 6, 12, 0, 0, 0, loc)),
		time.Date(2026, 9, 5, 0, 0, 0, 0, loc); !got.Equal(want) {
		t.Errorf("skipPeriods = %v, want %v", got, want)
	}
	if got, want := skipPeriods(rrule.DAILY, 1, anchor, time.Date(2026, 9, 7, 12, 0, 0, 0, loc)),
		time.Date(2026, 9, 7, 0, 0, 0, 0, loc); !got.Equal(want) {
		t.Errorf("skipPeriods = %v, want %v", got, want)
	}
}

// TestOccursAtAll: the probe finds rare days that exist, however rare, and
// reports the ones that never come.
func TestOccursAtAll(t *testing.T) {
	for text, want := range map[string]bool{
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO":          true, // a Monday the 29th of February
		"FREQ=MONTHLY;BYMONTH=2;BYDAY=5FR":                      true, // five Fridays in February
		"FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH":                      true,
		"FREQ=YEARLY;BYYEARDAY=366;BYDAY=SU":                    true,
		"DTSTART:20240229T090000Z\nRRULE:FREQ=YEARLY":           true, // leap days only
		"FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=23":       true,
		"FREQ=YEARLY;BYWEEKNO=53;BYMONTH=6":                     false,
		"FREQ=MONTHLY;BYMONTH=4,6,9,11;BYMONTHDAY=31":           false,
		"FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1":                   false,
		"FREQ=MONTHLY;BYDAY=6MO":                                false,
		"FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30":                   false,
		"DTSTART:20240131T090000Z\nRRULE:FREQ=YEARLY;BYMONTH=4": false, // the 31st, from DTSTART, of April
	} {
		rule, err := parseWindowRule(text, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := occursAtAll(rule) == nil; got != want {
			t.Errorf("%q occurs: %v, want %v", text, got, want)
		}
	}
}

// TestReachableTimeOfDay: a sub-daily rule's clock, from its anchor's time
// of day in steps of its interval, meets its BY parts or never does.
func TestReachableTimeOfDay(t *testing.T) {
	for text, want := range map[string]bool{
		"FREQ=HOURLY;INTERVAL=5;BYHOUR=3":                                        true, // 5 and 24 are coprime
		"FREQ=HOURLY;INTERVAL=2;BYHOUR=1":                                        false,
		"FREQ=HOURLY;INTERVAL=24;BYHOUR=0":                                       true,
		"FREQ=HOURLY;INTERVAL=48;BYHOUR=12":                                      false,
		"FREQ=MINUTELY;INTERVAL=90;BYHOUR=1;BYMINUTE=30":                         true,
		"FREQ=MINUTELY;INTERVAL=90;BYMINUTE=15":                                  false,
		"DTSTART:20260101T001500Z\nRRULE:FREQ=MINUTELY;INTERVAL=90;BYMINUTE=15":  true,
		"FREQ=SECONDLY;INTERVAL=7;BYSECOND=3;BYMINUTE=59;BYHOUR=23":              true,
		"DTSTART:20260101T000001Z\nRRULE:FREQ=SECONDLY;INTERVAL=2;BYSECOND=0,30": false,
		"FREQ=SECONDLY;INTERVAL=864000000000;BYSECOND=5":                         false, // ten million days: the clock stays put
	} {
		rule, err := parseWindowRule(text, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := reachableTimeOfDay(&rule.opt, rule.anchor) == nil; got != want {
			t.Errorf("%q reachable: %v, want %v", text, got, want)
		}
	}
}
