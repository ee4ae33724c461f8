package schwabtest

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"
)

// levelOneFields gives a quote's LEVELONE fields by number, per service
// (streaming.md §1.6.2, §1.6.3: the two numberings differ).
func levelOneFields(service, symbol string, q QuoteValue, atMS int64) map[string]json.RawMessage {
	n := func(d decimal.Decimal) json.RawMessage { return json.RawMessage(d.String()) }
	i := func(v int64) json.RawMessage { return json.RawMessage(strconv.FormatInt(v, 10)) }
	str := func(v string) json.RawMessage { b, _ := json.Marshal(v); return b }
	mark := q.Bid.Add(q.Ask).Div(decimal.NewFromInt(2))
	if service == "LEVELONE_OPTIONS" {
		return map[string]json.RawMessage{"0": str(symbol), "2": n(q.Bid), "3": n(q.Ask), "4": n(q.Last),
			"16": i(10), "17": i(10), "18": i(1), "33": str("Normal"), "37": n(mark), "38": i(atMS), "39": i(atMS)}
	}
	return map[string]json.RawMessage{"0": str(symbol), "1": n(q.Bid), "2": n(q.Ask), "3": n(q.Last),
		"4": i(1), "5": i(1), "8": i(0), "9": i(100), "32": str("Normal"), "33": n(mark), "34": i(atMS), "35": i(atMS)}
}

// publishQuotes sends every subscribed key whose fields changed since they
// were last sent on that connection: the first item of a key carries every
// requested field, later ones only the changed fields (Change delivery).
func (s *Server) publishQuotes() {
	s.mu.Lock()
	quotes := make(map[string]QuoteValue, len(s.quotes))
	for k, v := range s.quotes {
		quotes[k] = v
	}
	now := s.clock.Now()
	s.mu.Unlock()
	st := &s.stream
	st.pub.Lock()
	defer st.pub.Unlock()
	st.mu.Lock()
	conns := slices.Clone(st.conns)
	st.mu.Unlock()
	for _, c := range conns {
		var frames [][]byte
		c.mu.Lock()
		for _, service := range []string{"LEVELONE_EQUITIES", "LEVELONE_OPTIONS"} {
			sub := c.subs[service]
			if sub == nil || !c.loggedIn {
				continue
			}
			var content []any
			for _, key := range sub.keys {
				q, ok := quotes[key]
				if !ok {
					continue
				}
				at := q.Time
				if at.IsZero() {
					at = now
				}
				item := map[string]any{"key": key, "delayed": q.Delayed || s.cfg.Stream.Delayed}
				if service == "LEVELONE_OPTIONS" {
					item["assetMainType"] = "OPTION"
				} else {
					item["assetMainType"], item["assetSubType"] = q.AssetMainType, "COE"
				}
				sent := sub.sent[key]
				if sent == nil {
					sent = map[string]string{}
					sub.sent[key] = sent
				}
				changed := false
				for f, v := range levelOneFields(service, key, q, at.UnixMilli()) {
					if f == "0" || !slices.Contains(sub.fields, f) || sent[f] == string(v) {
						continue
					}
					item[f], sent[f], changed = v, string(v), true
				}
				if changed {
					content = append(content, item)
				}
			}
			if len(content) > 0 {
				b, _ := json.Marshal(map[string]any{"data": []any{map[string]any{"service": service,
					"timestamp": now.UnixMilli(), "command": "SUBS", "content": content}}})
				frames = append(frames, b)
			}
		}
		c.mu.Unlock()
		for _, f := range frames {
			c.send(f)
		}
	}
}
