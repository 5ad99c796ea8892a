package expr

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
)

// Regex flags of the regex op: POSIX regcomp's cflags as glibc numbers them.
const (
	RegexExtended = 1 << 0 // POSIX extended syntax; basic syntax without it
	RegexICase    = 1 << 1 // ignore case
	RegexNoSub    = 1 << 2 // report no submatches: no effect on matching
	RegexNewline  = 1 << 3 // '.' and [^...] do not match newlines; ^ and $ match at lines
)

var errBackref = errors.New("back-references are not supported")

// compileRegex compiles a POSIX regular expression, basic or extended as
// flags say, into Go's RE2 syntax. The pattern ends at its first NUL, as it
// does for the server's regcomp.
func compileRegex(pattern []byte, flags int64) (*regexp.Regexp, error) {
	if i := bytes.IndexByte(pattern, 0); i >= 0 {
		pattern = pattern[:i]
	}
	var sb strings.Builder
	if flags&RegexICase != 0 {
		sb.WriteString("(?i)")
	}
	newline := flags&RegexNewline != 0
	if newline {
		sb.WriteString("(?m)")
	} else {
		sb.WriteString("(?s)")
	}
	if err := translatePOSIX(&sb, string(pattern), flags&RegexExtended != 0, newline); err != nil {
		return nil, err
	}
	return regexp.Compile(sb.String())
}

// translatePOSIX writes the RE2 equivalent of a POSIX pattern. The
// differences it bridges: in basic syntax \( \) \{ \} \| \+ \? are the
// operators and the bare characters are literals; ^ and $ anchor only at
// the ends of basic patterns or groups; a leading * is literal; inside a
// bracket expression a backslash is literal, and with REG_NEWLINE a
// negated one does not match a newline; \< and \> are word boundaries.
func translatePOSIX(sb *strings.Builder, p string, extended, newline bool) error {
	// atStart: the next character begins a pattern, group or alternative,
	// where ^ anchors and * is literal.
	atStart := true
	for i := 0; i < len(p); i++ {
		ch := p[i]
		start := atStart
		atStart = false
		switch {
		case ch == '[':
			n, err := translateBracket(sb, p[i:], newline)
			if err != nil {
				return err
			}
			i += n - 1
		case ch == '\\':
			if i+1 == len(p) {
				return errors.New("trailing backslash")
			}
			i++
			next, err := translateEscape(sb, p[i], extended)
			if err != nil {
				return err
			}
			atStart = next
		case ch == '^':
			if extended || start {
				sb.WriteByte('^')
				atStart = true
			} else {
				sb.WriteString(`\^`)
			}
		case ch == '$':
			if extended || i+1 == len(p) || strings.HasPrefix(p[i+1:], `\)`) || strings.HasPrefix(p[i+1:], `\|`) {
				sb.WriteByte('$')
			} else {
				sb.WriteString(`\$`)
			}
		case ch == '*' || (extended && (ch == '+' || ch == '?')):
			if start {
				sb.WriteByte('\\') // nothing to repeat: a literal
			}
			sb.WriteByte(ch)
		case extended && (ch == '(' || ch == '|'):
			if ch == '(' && strings.HasPrefix(p[i+1:], "?") {
				return errors.New("invalid repetition after (")
			}
			sb.WriteByte(ch)
			atStart = true
		case !extended && strings.IndexByte("(){}|+?", ch) >= 0:
			sb.WriteByte('\\')
			sb.WriteByte(ch)
		default:
			sb.WriteByte(ch)
		}
	}
	return nil
}

// translateEscape writes the RE2 form of the escape \ch and reports whether
// what follows starts a group or alternative.
func translateEscape(sb *strings.Builder, ch byte, extended bool) (atStart bool, err error) {
	switch {
	case ch >= '1' && ch <= '9':
		return false, errBackref
	case !extended && (ch == '(' || ch == '|'):
		sb.WriteByte(ch)
		return true, nil
	case !extended && strings.IndexByte("){}+?", ch) >= 0:
		sb.WriteByte(ch)
	case ch == '<' || ch == '>':
		sb.WriteString(`\b`)
	case ch == '`':
		sb.WriteString(`\A`)
	case ch == '\'':
		sb.WriteString(`\z`)
	case strings.IndexByte("wWsSbB", ch) >= 0:
		sb.WriteByte('\\')
		sb.WriteByte(ch)
	default:
		// Any other escaped character stands for itself.
		sb.WriteString(regexp.QuoteMeta(string(ch)))
	}
	return false, nil
}

// translateBracket writes the bracket expression at the start of p and
// returns its length.
func translateBracket(sb *strings.Builder, p string, newline bool) (int, error) {
	i := 1
	sb.WriteByte('[')
	if i < len(p) && p[i] == '^' {
		sb.WriteByte('^')
		if newline {
			sb.WriteString(`\n`)
		}
		i++
	}
	if i < len(p) && p[i] == ']' { // a leading ] is a member
		sb.WriteString(`\]`)
		i++
	}
	for ; i < len(p); i++ {
		switch ch := p[i]; ch {
		case ']':
			sb.WriteByte(']')
			return i + 1, nil
		case '\\':
			sb.WriteString(`\\`)
		case '[':
			if i+1 < len(p) && (p[i+1] == ':' || p[i+1] == '.' || p[i+1] == '=') {
				end := strings.Index(p[i+2:], string(p[i+1])+"]")
				if end < 0 {
					return 0, errors.New("unterminated [: :] in bracket expression")
				}
				if p[i+1] != ':' {
					return 0, errors.New("collating elements are not supported")
				}
				sb.WriteString(p[i : i+2+end+2])
				i += 2 + end + 1
				continue
			}
			sb.WriteString(`\[`)
		default:
			sb.WriteByte(ch)
		}
	}
	return 0, errors.New("unterminated bracket expression")
}
