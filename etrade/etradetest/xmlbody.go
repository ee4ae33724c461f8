package etradetest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// arrayElements are the elements that JSON always carries as arrays.
var arrayElements = map[string]bool{"Order": true, "Instrument": true, "PreviewIds": true}

// xmlToJSONShape converts an XML request body (E*TRADE accepts XML bodies,
// and its own sample sends them) into the generic shape the JSON decoder
// produces: elements with children become objects, leaves strings,
// repeated or array-typed elements arrays. The root element becomes the
// single key of the result.
func xmlToJSONShape(body []byte) (map[string]any, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("no root element: %w", err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			v, err := xmlElementValue(dec)
			if err != nil {
				return nil, err
			}
			return map[string]any{start.Name.Local: v}, nil
		}
	}
}

// xmlElementValue reads the content of the element just opened.
func xmlElementValue(dec *xml.Decoder) (any, error) {
	children := map[string]any{}
	var text strings.Builder
	hasChildren := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil, fmt.Errorf("unclosed element")
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			hasChildren = true
			v, err := xmlElementValue(dec)
			if err != nil {
				return nil, err
			}
			name := t.Name.Local
			switch prev, seen := children[name]; {
			case !seen && arrayElements[name]:
				children[name] = []any{v}
			case !seen:
				children[name] = v
			default:
				if list, ok := prev.([]any); ok {
					children[name] = append(list, v)
				} else {
					children[name] = []any{prev, v}
				}
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if hasChildren {
				return children, nil
			}
			return strings.TrimSpace(text.String()), nil
		}
	}
}
