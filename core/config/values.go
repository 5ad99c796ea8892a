package config

import (
	"math"
	"strconv"
	"strings"
)

// unit is a suffix that multiplies the number before it.
type unit struct {
	suffix byte
	n      int64
}

// sizeUnits are the suffixes of a size in bytes, 1024-based as in Aerospike.
var sizeUnits = []unit{{'P', 1 << 50}, {'T', 1 << 40}, {'G', 1 << 30}, {'M', 1 << 20}, {'K', 1 << 10}}

// secondUnits are the suffixes of a duration in seconds.
var secondUnits = []unit{{'D', 86400}, {'H', 3600}, {'M', 60}, {'S', 1}}

// parseSize reads a byte count: digits with an optional K, M, G, T or P
// suffix in either case.
func parseSize(s string) (int64, bool) { return parseScaled(s, sizeUnits) }

// parseSeconds reads an Aerospike duration: digits meaning seconds, with an
// optional S, M, H or D suffix in either case.
func parseSeconds(s string) (int64, bool) { return parseScaled(s, secondUnits) }

// parseScaled reads plain decimal digits (no sign, no spaces) followed by at
// most one of units' suffixes, refusing a result that overflows int64.
func parseScaled(s string, units []unit) (int64, bool) {
	mult := int64(1)
	if s != "" {
		last := s[len(s)-1]
		if 'a' <= last && last <= 'z' {
			last -= 'a' - 'A'
		}
		for _, u := range units {
			if last == u.suffix {
				s, mult = s[:len(s)-1], u.n
				break
			}
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > uint64(math.MaxInt64/mult) {
		return 0, false
	}
	return int64(n) * mult, true
}

// formatScaled writes n with the largest of units' suffixes that divides it
// (1048576 bytes is "1M"), for messages that quote a limit.
func formatScaled(n int64, units []unit) string {
	for _, u := range units {
		if n != 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + string(u.suffix)
		}
	}
	return strconv.FormatInt(n, 10)
}

// parseBool reads true, false, yes or no in any case, as Aerospike does.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes":
		return true, true
	case "false", "no":
		return false, true
	}
	return false, false
}

// validNodeID reports whether s is 1 to 16 hex digits, not all zero: a
// 64-bit node id, where Aerospike reserves zero for "no node".
func validNodeID(s string) bool {
	n, err := strconv.ParseUint(s, 16, 64)
	return err == nil && n != 0 && len(s) <= 16
}
