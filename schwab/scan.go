package schwab

import (
	"bytes"
	"encoding/json"
)

// Order payloads are decoded on every poll, so they skip encoding/json's
// reflection and its second pass over the input: orderScanner reads the
// common payload straight into a wireOrder. It accepts a strict subset of
// what json.Unmarshal accepts and fills the wireOrder exactly as
// json.Unmarshal would. Anything outside the subset (invalid JSON, a key or
// string with escapes or non-ASCII bytes, a key that matches a field only
// case-insensitively, a field given twice, a value json.Unmarshal refuses,
// deep nesting) makes it report false, and the caller decodes with
// encoding/json, which gives the result or the error. Numbers still reach
// only num (and ids flexID), so none passes through float64.

// maxScanDepth bounds the nesting the scanner follows (json.Unmarshal's
// own limit is far higher; deeper payloads take the encoding/json path).
const maxScanDepth = 64

type orderScanner struct {
	b     []byte
	i     int
	depth int
}

// scanOrder decodes body into w and reports whether it could; on false, w
// is partly filled and must be discarded.
func scanOrder(body []byte, w *wireOrder) bool {
	s := orderScanner{b: body}
	s.space()
	if !s.peek('{') || !s.order(w) {
		return false
	}
	s.space()
	return s.i == len(s.b)
}

// scanOrderList is scanOrder for an array of orders (GET .../orders).
func scanOrderList(body []byte, list *[]wireOrder) bool {
	s := orderScanner{b: body}
	s.space()
	if !s.peek('[') || !scanSlice(&s, list, (*orderScanner).order) {
		return false
	}
	s.space()
	return s.i == len(s.b)
}

var orderFields = []string{"session", "duration", "orderType", "complexOrderStrategyType", "quantity",
	"filledQuantity", "remainingQuantity", "price", "stopPrice", "stopPriceLinkBasis", "stopPriceLinkType",
	"stopPriceOffset", "orderLegCollection", "orderStrategyType", "orderId", "cancelable", "editable",
	"status", "statusDescription", "enteredTime", "closeTime", "tag", "accountNumber", "accountId",
	"orderActivityCollection", "childOrderStrategies", "replacingOrderCollection"}

func (s *orderScanner) order(w *wireOrder) bool {
	return s.object(orderFields, func(field int) bool {
		switch field {
		case 0:
			return s.str(&w.Session)
		case 1:
			return s.str(&w.Duration)
		case 2:
			return s.str(&w.OrderType)
		case 3:
			return s.str(&w.ComplexOrderStrategyType)
		case 4:
			return s.literal(&w.Quantity)
		case 5:
			return s.literal(&w.FilledQuantity)
		case 6:
			return s.literal(&w.RemainingQuantity)
		case 7:
			return s.literal(&w.Price)
		case 8:
			return s.literal(&w.StopPrice)
		case 9:
			return s.str(&w.StopPriceLinkBasis)
		case 10:
			return s.str(&w.StopPriceLinkType)
		case 11:
			return s.literal(&w.StopPriceOffset)
		case 12:
			return scanSlice(s, &w.OrderLegCollection, (*orderScanner).leg)
		case 13:
			return s.str(&w.OrderStrategyType)
		case 14:
			return s.literal(&w.OrderID)
		case 15:
			return s.boolean(&w.Cancelable)
		case 16:
			return s.boolean(&w.Editable)
		case 17:
			return s.str(&w.Status)
		case 18:
			return s.str(&w.StatusDescription)
		case 19:
			return s.literal(&w.EnteredTime)
		case 20:
			return s.literal(&w.CloseTime)
		case 21:
			return s.str(&w.Tag)
		case 22:
			return s.literal(&w.AccountNumber)
		case 23:
			return s.literal(&w.AccountID)
		case 24:
			return scanSlice(s, &w.OrderActivityCollection, (*orderScanner).activity)
		case 25:
			return scanSlice(s, &w.ChildOrderStrategies, (*orderScanner).order)
		default:
			return scanSlice(s, &w.ReplacingOrderCollection, (*orderScanner).order)
		}
	})
}

var legFields = []string{"orderLegType", "legId", "instrument", "instruction", "positionEffect", "quantity"}

func (s *orderScanner) leg(l *wireLeg) bool {
	return s.object(legFields, func(field int) bool {
		switch field {
		case 0:
			return s.str(&l.OrderLegType)
		case 1:
			return s.literal(&l.LegID)
		case 2:
			return s.instrument(&l.Instrument)
		case 3:
			return s.str(&l.Instruction)
		case 4:
			return s.str(&l.PositionEffect)
		default:
			return s.literal(&l.Quantity)
		}
	})
}

var instrumentFields = []string{"assetType", "cusip", "symbol", "description", "instrumentId", "type",
	"putCall", "underlyingSymbol"}

func (s *orderScanner) instrument(in *wireInstrument) bool {
	return s.object(instrumentFields, func(field int) bool {
		switch field {
		case 0:
			return s.str(&in.AssetType)
		case 1:
			return s.str(&in.Cusip)
		case 2:
			return s.str(&in.Symbol)
		case 3:
			return s.str(&in.Description)
		case 4:
			return s.literal(&in.InstrumentID)
		case 5:
			return s.str(&in.Type)
		case 6:
			return s.str(&in.PutCall)
		default:
			return s.str(&in.UnderlyingSymbol)
		}
	})
}

var activityFields = []string{"activityType", "activityId", "executionType", "quantity",
	"orderRemainingQuantity", "executionLegs"}

func (s *orderScanner) activity(a *wireActivity) bool {
	return s.object(activityFields, func(field int) bool {
		switch field {
		case 0:
			return s.str(&a.ActivityType)
		case 1:
			return s.literal(&a.ActivityID)
		case 2:
			return s.str(&a.ExecutionType)
		case 3:
			return s.literal(&a.Quantity)
		case 4:
			return s.literal(&a.OrderRemainingQuantity)
		default:
			return scanSlice(s, &a.ExecutionLegs, (*orderScanner).execLeg)
		}
	})
}

var execLegFields = []string{"legId", "quantity", "mismarkedQuantity", "price", "time", "instrumentId"}

func (s *orderScanner) execLeg(l *wireExecLeg) bool {
	return s.object(execLegFields, func(field int) bool {
		switch field {
		case 0:
			return s.literal(&l.LegID)
		case 1:
			return s.literal(&l.Quantity)
		case 2:
			return s.literal(&l.MismarkedQuantity)
		case 3:
			return s.literal(&l.Price)
		case 4:
			return s.literal(&l.Time)
		default:
			return s.literal(&l.InstrumentID)
		}
	})
}

// object reads an object (null leaves the struct as it is, as in
// json.Unmarshal), calling value with the index in fields of each known
// key, positioned at its value. Unknown keys' values are validated and
// skipped.
func (s *orderScanner) object(fields []string, value func(field int) bool) bool {
	if s.null() {
		return true
	}
	if !s.enter('{') {
		return false
	}
	var seen uint64 // fields given so far; a repeat takes the encoding/json path
	s.space()
	if s.peek('}') {
		return s.leave()
	}
	for {
		key, ok := s.key()
		if !ok {
			return false
		}
		s.space()
		if !s.peek(':') {
			return false
		}
		s.i++
		s.space()
		if field := fieldIndex(fields, key); field >= 0 {
			if seen&(1<<field) != 0 || !value(field) {
				return false
			}
			seen |= 1 << field
		} else if foldsToField(fields, key) || !s.skip() {
			return false
		}
		s.space()
		switch {
		case s.peek(','):
			s.i++
			s.space()
		case s.peek('}'):
			return s.leave()
		default:
			return false
		}
	}
}

func fieldIndex(fields []string, key []byte) int {
	for i, f := range fields {
		if string(key) == f {
			return i
		}
	}
	return -1
}

// foldsToField reports whether json.Unmarshal would match key to a field
// case-insensitively (it folds as bytes.EqualFold does).
func foldsToField(fields []string, key []byte) bool {
	for _, f := range fields {
		if bytes.EqualFold(key, []byte(f)) {
			return true
		}
	}
	return false
}

// scanSlice reads an array into *dst as json.Unmarshal does: null is a nil
// slice, [] an empty one, a null element a zero element.
func scanSlice[T any](s *orderScanner, dst *[]T, elem func(*orderScanner, *T) bool) bool {
	if s.null() {
		*dst = nil
		return true
	}
	if !s.enter('[') {
		return false
	}
	out := make([]T, 0)
	s.space()
	if s.peek(']') {
		*dst = out
		return s.leave()
	}
	var zero T
	for {
		out = append(out, zero)
		if !elem(s, &out[len(out)-1]) {
			return false
		}
		s.space()
		switch {
		case s.peek(','):
			s.i++
			s.space()
		case s.peek(']'):
			*dst = out
			return s.leave()
		default:
			return false
		}
	}
}

func (s *orderScanner) enter(open byte) bool {
	if !s.peek(open) || s.depth == maxScanDepth {
		return false
	}
	s.i++
	s.depth++
	return true
}

// leave consumes the closing bracket peek has seen.
func (s *orderScanner) leave() bool {
	s.i++
	s.depth--
	return true
}

// key reads an object key without escapes.
func (s *orderScanner) key() ([]byte, bool) {
	if !s.peek('"') {
		return nil, false
	}
	return s.plainString()
}

// str reads a string field: null leaves it as it is; a string without
// escapes or non-ASCII bytes is taken as written; anything else (another
// type, which json.Unmarshal refuses, or a string needing unescaping)
// reports false.
func (s *orderScanner) str(dst *string) bool {
	if s.null() {
		return true
	}
	if !s.peek('"') {
		return false
	}
	v, ok := s.plainString()
	if ok {
		*dst = string(v)
	}
	return ok
}

// plainString reads a string at s.i that needs no unescaping and is ASCII.
func (s *orderScanner) plainString() ([]byte, bool) {
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], true
		case c < 0x20 || c == '\\' || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

func (s *orderScanner) boolean(dst *bool) bool {
	switch {
	case s.null():
		return true
	case s.word("true"):
		*dst = true
		return true
	case s.word("false"):
		*dst = false
		return true
	}
	return false
}

// literal hands the raw value to the field's UnmarshalJSON, as
// json.Unmarshal does (null included); an error reports false.
func (s *orderScanner) literal(u json.Unmarshaler) bool {
	start := s.i
	if !s.skip() {
		return false
	}
	return u.UnmarshalJSON(s.b[start:s.i]) == nil
}

func (s *orderScanner) null() bool { return s.word("null") }

func (s *orderScanner) word(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

func (s *orderScanner) peek(c byte) bool { return s.i < len(s.b) && s.b[s.i] == c }

func (s *orderScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// skip validates and passes over any JSON value.
func (s *orderScanner) skip() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.skipComposite('{', '}', true)
	case c == '[':
		return s.skipComposite('[', ']', false)
	case c == '"':
		return s.skipString()
	case c == '-' || (c >= '0' && c <= '9'):
		return s.skipNumber()
	}
	return s.word("true") || s.word("false") || s.null()
}

// skipComposite passes over an object (keyed) or an array.
func (s *orderScanner) skipComposite(open, closing byte, keyed bool) bool {
	if !s.enter(open) {
		return false
	}
	s.space()
	if s.peek(closing) {
		return s.leave()
	}
	for {
		if keyed {
			if !s.peek('"') || !s.skipString() {
				return false
			}
			s.space()
			if !s.peek(':') {
				return false
			}
			s.i++
			s.space()
		}
		if !s.skip() {
			return false
		}
		s.space()
		switch {
		case s.peek(','):
			s.i++
			s.space()
		case s.peek(closing):
			return s.leave()
		default:
			return false
		}
	}
}

// skipString passes over a string with the escapes JSON allows.
func (s *orderScanner) skipString() bool {
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			j++
			if j >= len(s.b) {
				return false
			}
			switch s.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s.b) || !isHex(s.b[j+1]) || !isHex(s.b[j+2]) || !isHex(s.b[j+3]) || !isHex(s.b[j+4]) {
					return false
				}
				j += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// skipNumber passes over -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?.
func (s *orderScanner) skipNumber() bool {
	if s.peek('-') {
		s.i++
	}
	switch {
	case s.peek('0'):
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek('.') {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.peek('e') || s.peek('E') {
		s.i++
		if s.peek('+') || s.peek('-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *orderScanner) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}
