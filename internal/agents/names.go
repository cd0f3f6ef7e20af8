package agents

import "strings"

// JobIDLabel is the label (or annotation) that carries a job's id on what an
// agent creates in a Kubernetes-style system, so a redelivered job finds
// what its first delivery made.
const JobIDLabel = "gatehouse.dev/job-id"

// maxNameLength is the longest name Kubernetes accepts for objects whose
// name ends up in a label (a Job's pods carry it in job-name) or in a DNS
// label: 63 characters.
const maxNameLength = 63

// ResourceName returns a DNS-1123 label made of prefix and the job id, at
// most 63 characters: lower-cased, with every character outside [a-z0-9-]
// turned into '-', the prefix shortened first so the job id survives whole.
// The same prefix and job id always give the same name, which is what makes
// a redelivered create detectable (409 AlreadyExists).
func ResourceName(prefix, jobID string) string {
	id := dnsSafe(jobID)
	if len(id) > maxNameLength {
		id = id[:maxNameLength]
	}
	p := dnsSafe(prefix)
	if room := maxNameLength - len(id); len(p) > room {
		// Keep the prefix's last character: it is the separator ("job-").
		p = p[:max(room-1, 0)] + p[len(p)-1:]
		if room == 0 {
			p = ""
		}
	}
	name := strings.Trim(p+id, "-")
	if name == "" {
		return "gatehouse"
	}
	return name
}

// LabelValue returns s as a valid label value: at most 63 characters of
// [A-Za-z0-9-_.], starting and ending with an alphanumeric character.
func LabelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			b[i] = '-'
		}
	}
	if len(b) > maxNameLength {
		b = b[:maxNameLength]
	}
	return strings.Trim(string(b), "-_.")
}

func dnsSafe(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !isAlnum(c) && c != '-' {
			b[i] = '-'
		}
	}
	return string(b)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
