package labels

import "fmt"

// Parse reads a label selector string as labels.Parse does:
//
//	selector     ::= requirement | requirement "," selector
//	requirement  ::= ["!"] KEY [ set | exact ]
//	set          ::= ("in" | "notin") "(" [ VALUE { "," [ VALUE ] } ] ")"
//	exact        ::= ("=" | "==" | "!=" | ">" | "<") [ VALUE ]
//
// A bare KEY is Exists, "!KEY" DoesNotExist, ">" and "<" are GreaterThan and
// LessThan. Blanks (space, tab, CR, LF) separate tokens; "in" and "notin"
// are operators after a key and ordinary words where a key or value is
// expected ("in in (in)" is valid). A missing value is the empty value
// ("a=", "a in ()", "a in (b,)"). Keys and values are validated as
// NewRequirement validates them. "" parses to Everything. As upstream, a NUL
// byte where a token would start ends the input, and a NUL right after a
// token is skipped.
//
// The requirements are sorted by key, their values sorted without
// duplicates. On error the selector is Nothing, so a caller that drops the
// error selects nothing rather than everything. Errors say what was found and what was expected; their
// wording is not upstream's. Cost: one pass over s and a few small
// allocations per requirement.
func Parse(s string) (Selector, error) {
	p := parser{toks: lex(s)}
	reqs, err := p.selector()
	if err != nil {
		return Nothing(), err
	}
	sortByKey(reqs)
	return Selector{reqs: reqs}, nil
}

type kind uint8

const (
	tEnd kind = iota
	tIdent
	tIn
	tNotIn
	tOpen
	tClose
	tComma
	tNot
	tEquals
	tDoubleEquals
	tNotEquals
	tGreater
	tLess
)

type token struct {
	kind kind
	lit  string
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isSymbol(c byte) bool {
	switch c {
	case '=', '!', '(', ')', ',', '>', '<':
		return true
	}
	return false
}

var symbols = map[string]kind{
	"=": tEquals, "==": tDoubleEquals, "!": tNot, "!=": tNotEquals,
	"(": tOpen, ")": tClose, ",": tComma, ">": tGreater, "<": tLess,
}

// lex splits s into tokens, ending with tEnd. Symbols are one byte, or two
// for "==" and "!="; a word runs to the next blank, symbol or NUL.
func lex(s string) []token {
	var toks []token
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i == len(s) || s[i] == 0 {
			return append(toks, token{kind: tEnd})
		}
		j := i + 1
		if isSymbol(s[i]) {
			if (s[i] == '=' || s[i] == '!') && j < len(s) && s[j] == '=' {
				j++
			}
			toks = append(toks, token{symbols[s[i:j]], s[i:j]})
		} else {
			for j < len(s) && s[j] != 0 && !isBlank(s[j]) && !isSymbol(s[j]) {
				j++
			}
			t := token{tIdent, s[i:j]}
			switch t.lit {
			case "in":
				t.kind = tIn
			case "notin":
				t.kind = tNotIn
			}
			toks = append(toks, t)
		}
		i = j
		if i < len(s) && s[i] == 0 {
			i++ // upstream's lexer consumes the NUL that ends a token
		}
	}
}

type parser struct {
	toks []token
	pos  int
}

// peek returns the next token. Where a key or value is expected, "in" and
// "notin" are words; operator says an operator is expected instead.
func (p *parser) peek(operator bool) token {
	if p.pos >= len(p.toks) {
		return token{kind: tEnd}
	}
	t := p.toks[p.pos]
	if !operator && (t.kind == tIn || t.kind == tNotIn) {
		t.kind = tIdent
	}
	return t
}

func (p *parser) next(operator bool) token {
	t := p.peek(operator)
	p.pos++
	return t
}

func describe(t token) string {
	if t.kind == tEnd {
		return "end of string"
	}
	return "'" + t.lit + "'"
}

func (p *parser) selector() ([]Requirement, error) {
	var reqs []Requirement
	for {
		switch t := p.peek(false); t.kind {
		case tEnd:
			return reqs, nil
		case tIdent, tNot:
		default:
			return nil, fmt.Errorf("found %s, expected: !, identifier, or end of string", describe(t))
		}
		r, err := p.requirement()
		if err != nil {
			return nil, fmt.Errorf("unable to parse requirement: %w", err)
		}
		reqs = append(reqs, r)
		switch t := p.next(false); t.kind {
		case tEnd:
			return reqs, nil
		case tComma:
			if t := p.peek(false); t.kind != tIdent && t.kind != tNot {
				return nil, fmt.Errorf("found %s, expected: identifier after ','", describe(t))
			}
		default:
			return nil, fmt.Errorf("found %s, expected: ',' or end of string", describe(t))
		}
	}
}

func (p *parser) requirement() (Requirement, error) {
	t := p.next(false)
	not := t.kind == tNot
	if not {
		t = p.next(false)
	}
	if t.kind != tIdent {
		return Requirement{}, fmt.Errorf("found %s, expected: identifier", describe(t))
	}
	key := t.lit
	if err := ValidateKey(key); err != nil {
		return Requirement{}, err
	}
	if not {
		// Whatever follows "!key" is the caller's to reject.
		return NewRequirement(key, DoesNotExist, nil)
	}
	if k := p.peek(false).kind; k == tEnd || k == tComma {
		return NewRequirement(key, Exists, nil)
	}
	var op Operator
	switch t := p.next(true); t.kind {
	case tIn:
		op = In
	case tNotIn:
		op = NotIn
	case tEquals:
		op = Equals
	case tDoubleEquals:
		op = DoubleEquals
	case tNotEquals:
		op = NotEquals
	case tGreater:
		op = GreaterThan
	case tLess:
		op = LessThan
	default:
		return Requirement{}, fmt.Errorf("found %s, expected: in, notin, =, ==, !=, gt, lt", describe(t))
	}
	var values []string
	var err error
	if op == In || op == NotIn {
		values, err = p.valueSet()
	} else {
		values, err = p.exactValue()
	}
	if err != nil {
		return Requirement{}, err
	}
	return NewRequirement(key, op, sortedSet(values))
}

// valueSet reads "(a,b,...)"; an empty element is the empty value.
func (p *parser) valueSet() ([]string, error) {
	if t := p.next(false); t.kind != tOpen {
		return nil, fmt.Errorf("found %s, expected: '('", describe(t))
	}
	switch t := p.peek(false); t.kind {
	case tClose:
		p.next(false)
		return []string{""}, nil
	case tIdent, tComma:
	default:
		return nil, fmt.Errorf("found %s, expected: ',', ')' or identifier", describe(t))
	}
	var values []string
	for {
		switch t := p.next(false); t.kind {
		case tIdent:
			values = append(values, t.lit)
			switch t := p.peek(false); t.kind {
			case tComma:
				continue
			case tClose:
				p.next(false)
				return values, nil
			default:
				return nil, fmt.Errorf("found %s, expected: ',' or ')'", describe(t))
			}
		case tComma:
			if len(values) == 0 {
				values = append(values, "") // "(,"
			}
			switch p.peek(false).kind {
			case tClose: // ",)"
				p.next(false)
				return append(values, ""), nil
			case tComma: // ",,"
				values = append(values, "")
			}
		default:
			return nil, fmt.Errorf("found %s, expected: ',', or identifier", describe(t))
		}
	}
}

// exactValue reads the value after =, ==, !=, > or <; none is "".
func (p *parser) exactValue() ([]string, error) {
	if k := p.peek(false).kind; k == tEnd || k == tComma {
		return []string{""}, nil
	}
	t := p.next(false)
	if t.kind != tIdent {
		return nil, fmt.Errorf("found %s, expected: identifier", describe(t))
	}
	return []string{t.lit}, nil
}
