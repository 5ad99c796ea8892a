package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	as "github.com/aerospike/aerospike-client-go/v8"
)

// table is a result as the shell prints it: aligned columns between
// +---+ rules, as aql does.
type table struct {
	cols []string
	rows [][]string // each as long as cols
}

// column returns the index of the column named name, adding it if new.
func (t *table) column(name string) int {
	if i := slices.Index(t.cols, name); i >= 0 {
		return i
	}
	t.cols = append(t.cols, name)
	for i := range t.rows {
		t.rows[i] = append(t.rows[i], "")
	}
	return len(t.cols) - 1
}

// addRow appends an empty row and returns it; fill it through set.
func (t *table) addRow() int {
	t.rows = append(t.rows, make([]string, len(t.cols)))
	return len(t.rows) - 1
}

// set puts a cell, adding the column if new.
func (t *table) set(row int, col, value string) {
	t.rows[row][t.column(col)] = value
}

// write prints the table and its footer, "N rows in set (S secs)". An empty
// result prints only the footer.
func (t *table) write(w io.Writer, elapsed time.Duration) {
	if len(t.rows) > 0 {
		widths := make([]int, len(t.cols))
		for i, c := range t.cols {
			widths[i] = utf8.RuneCountInString(c)
		}
		for _, r := range t.rows {
			for i, c := range r {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
		var b strings.Builder
		rule := func() {
			for _, n := range widths {
				b.WriteString("+")
				b.WriteString(strings.Repeat("-", n+2))
			}
			b.WriteString("+\n")
		}
		line := func(cells []string) {
			for i, c := range cells {
				b.WriteString("| ")
				b.WriteString(c)
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+1))
			}
			b.WriteString("|\n")
		}
		rule()
		line(t.cols)
		rule()
		for _, r := range t.rows {
			line(r)
		}
		rule()
		io.WriteString(w, b.String())
	}
	fmt.Fprintf(w, "%d %s in set (%.3f secs)\n", len(t.rows), plural(len(t.rows), "row", "rows"), elapsed.Seconds())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pkColumn is the name of the key's column.
const pkColumn = "PK"

// addRecord adds a record as a row: its key if known, then its bins in
// name order (a record's bins come as a map, so they have no other order).
// binNames, when given, fixes the columns and their order.
func (t *table) addRecord(rec *as.Record, binNames []string) {
	row := t.addRow()
	if k := rec.Key; k != nil && k.Value() != nil {
		if !slices.Contains(t.cols, pkColumn) {
			t.cols = slices.Insert(t.cols, 0, pkColumn)
			for i := range t.rows {
				t.rows[i] = slices.Insert(t.rows[i], 0, "")
			}
		}
		t.set(row, pkColumn, formatValue(k.Value().GetObject()))
	}
	names := binNames
	if names == nil {
		names = make([]string, 0, len(rec.Bins))
		for name := range rec.Bins {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	for _, name := range names {
		if v, ok := rec.Bins[name]; ok {
			t.set(row, name, formatValue(v))
		} else {
			t.column(name)
		}
	}
}

// formatValue shows a bin value (or a key) the way the shell's statements
// write it, so that a cell can be pasted back into an INSERT: strings
// quoted, floats with a point, lists and maps as LIST('[...]') and
// MAP('{...}'), bytes as BLOB('hex').
func formatValue(v any) string {
	switch v := v.(type) {
	case []any:
		return "LIST('" + formatNested(v) + "')"
	case map[any]any, map[string]any:
		return "MAP('" + formatNested(v) + "')"
	case as.GeoJSONValue:
		return "GEOJSON('" + string(v) + "')"
	case as.HLLValue:
		return fmt.Sprintf("HLL(%d bytes)", len(v))
	case []byte:
		return "BLOB('" + hex.EncodeToString(v) + "')"
	case nil:
		return "NULL"
	}
	return formatNested(v)
}

// formatNested writes a value in JSON's notation, as inside LIST() and
// MAP(); map entries are sorted by their keys' text.
func formatNested(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0"
		}
		return s
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	case []byte:
		return strconv.Quote(hex.EncodeToString(v))
	case as.GeoJSONValue:
		return string(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatNested(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[any]any:
		parts := make([]string, 0, len(v))
		for k, e := range v {
			parts = append(parts, formatNested(k)+": "+formatNested(e))
		}
		slices.Sort(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	case map[string]any:
		parts := make([]string, 0, len(v))
		for k, e := range v {
			parts = append(parts, strconv.Quote(k)+": "+formatNested(e))
		}
		slices.Sort(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// infoTable turns an info reply of records into a table: records separated
// by recSep, fields by fieldSep, each field "key=value". Columns come in
// the order first seen.
func infoTable(reply string, recSep, fieldSep string) *table {
	t := &table{}
	for rec := range strings.SplitSeq(reply, recSep) {
		if strings.TrimSpace(rec) == "" {
			continue
		}
		row := t.addRow()
		for field := range strings.SplitSeq(rec, fieldSep) {
			k, v, _ := strings.Cut(field, "=")
			t.set(row, k, v)
		}
	}
	return t
}

// binsTable turns the "bins" info reply, "NS:bin_names=N,bin_names_quota=Q,
// bin1,bin2;NS2:...", into one row per namespace and bin.
func binsTable(reply string) *table {
	t := &table{cols: []string{"namespace", "bin", "count", "quota"}}
	for rec := range strings.SplitSeq(reply, ";") {
		ns, rest, ok := strings.Cut(rec, ":")
		if !ok {
			continue
		}
		var count, quota string
		for item := range strings.SplitSeq(rest, ",") {
			switch k, v, _ := strings.Cut(item, "="); k {
			case "bin_names", "num-bin-names":
				count = v
			case "bin_names_quota", "bin-names-quota":
				quota = v
			default:
				if item != "" {
					t.rows = append(t.rows, []string{ns, item, count, quota})
				}
			}
		}
	}
	return t
}
