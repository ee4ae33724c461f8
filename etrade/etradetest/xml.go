package etradetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// writeXML answers in XML (the API's default format) by walking the same
// value the JSON answer marshals: objects become elements, arrays repeat
// their element. It is minimal: enough for a client that forgot to ask for
// JSON to see XML rather than JSON.
func writeXML(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var generic any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`)
	if m, ok := generic.(map[string]any); ok {
		for _, k := range sortedKeys(m) {
			xmlElement(&b, k, m[k])
		}
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

func xmlElement(b *strings.Builder, name string, v any) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			xmlElement(b, name, e)
		}
	case map[string]any:
		b.WriteString("<" + name + ">")
		for _, k := range sortedKeys(t) {
			xmlElement(b, k, t[k])
		}
		b.WriteString("</" + name + ">")
	default:
		fmt.Fprintf(b, "<%s>%s</%s>", name, xmlEscape(fmt.Sprint(t)), name)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
