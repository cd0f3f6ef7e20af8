// Package output renders what the CLI shows: tables for people, and JSON
// or YAML for programs, each through one function, with secrets redacted
// in all of them.
package output

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Column is one column of a table.
type Column struct {
	Header string
	// Wide columns are shown only with -o wide.
	Wide bool
}

// Table is rows of cells under column headers. Every table the CLI prints
// goes through Write, so they all look alike.
type Table struct {
	Columns []Column
	Rows    [][]string
	// Empty is printed instead of the headers when there are no rows.
	Empty string
}

// Add appends a row; it must have one cell per column.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// Write prints the table with aligned columns, the wide ones only when
// wide is set. Empty cells print as "-" so that columns stay readable.
func (t *Table) Write(w io.Writer, wide bool) error {
	if len(t.Rows) == 0 {
		if t.Empty != "" {
			_, err := fmt.Fprintln(w, t.Empty)
			return err
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	var shown []int
	var headers []string
	for i, c := range t.Columns {
		if !c.Wide || wide {
			shown = append(shown, i)
			headers = append(headers, strings.ToUpper(c.Header))
		}
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, row := range t.Rows {
		cells := make([]string, len(shown))
		for j, i := range shown {
			cell := ""
			if i < len(row) {
				cell = oneLine(row[i])
			}
			if cell == "" {
				cell = "-"
			}
			cells[j] = cell
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// oneLine keeps a cell on one line and out of the column separator.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\t", " ")), " ")
}

// TimeLayout is how the CLI writes instants: in UTC, to the second.
const TimeLayout = "2006-01-02 15:04:05 UTC"

// Time formats t with TimeLayout; "" for the zero time.
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// TimePtr is Time for an optional time.
func TimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return Time(*t)
}
