package schwab

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/arbiontrader/arbion/errors"
)

// maxErrorText caps the raw text kept from a body that has no known shape.
const maxErrorText = 200

// codeInvalidAccount is the Code given to Schwab's
// 400 {"message":"Invalid account number"}: the account hash is stale or a
// plain number reached a URL.
const codeInvalidAccount = "invalid_account_number"

// wireError holds every field of the error body families Schwab uses:
// the Trader API's {message, errors[]}, the gateway's
// {errors:[{id,status,title,detail,source}]}, OAuth's {error,
// error_description} and Apigee's {fault:{faultstring,detail:{errorcode}}}.
type wireError struct {
	Message          string          `json:"message"`
	Errors           json.RawMessage `json:"errors"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
	Fault            *wireFault      `json:"fault"`
}

type wireFault struct {
	FaultString string `json:"faultstring"`
	Detail      struct {
		ErrorCode string `json:"errorcode"`
	} `json:"detail"`
}

type wireGatewayError struct {
	ID     string          `json:"id"`
	Status json.RawMessage `json:"status"` // "400" or 401
	Title  string          `json:"title"`
	Detail string          `json:"detail"`
	Source struct {
		Header    string          `json:"header"`
		Parameter string          `json:"parameter"`
		Pointer   json.RawMessage `json:"pointer"`
	} `json:"source"`
}

// decodeError turns a non-2xx answer into a classified broker error. It
// never fails: an unknown shape keeps a truncated copy of the text. The
// kind follows the spec's detection rules (§9.1): a body that is not JSON
// (HTML, gateway text, empty) is a transient upstream fault whatever the
// status, except 429 which is always rate limiting.
func decodeError(status int, header http.Header, body []byte) *errors.BrokerError {
	body = maybeGunzip(body)
	be := &errors.BrokerError{Broker: Name, HTTPStatus: status, RequestID: header.Get("Schwab-Client-Correlid")}
	var w wireError
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &w) != nil {
		be.Kind = nonJSONKind(status)
		be.Message = rawText(trimmed, status)
		return be
	}
	switch {
	case w.Fault != nil:
		be.Code, be.Message = w.Fault.Detail.ErrorCode, w.Fault.FaultString
		be.Kind = errors.ErrBrokerUnavailable // the API gateway, not the order system
		if status == http.StatusTooManyRequests {
			be.Kind = errors.ErrRateLimited
		}
		return be
	case w.Error != "":
		be.Code, be.Message = w.Error, w.ErrorDescription
		be.Kind = oauthKind(status, w.Error, w.ErrorDescription)
		return be
	}
	be.Kind = statusKind(status)
	if w.Message != "" {
		be.Message = w.Message
	}
	gateway, texts := decodeErrorsField(w.Errors)
	if len(texts) > 0 {
		be.Message = joinMessage(be.Message, strings.Join(texts, "; "))
	}
	if len(gateway) > 0 {
		g := gateway[0]
		be.Code = g.Title
		// Schwab's longer explanation is kept apart from the message.
		be.Detail = g.Detail
		if be.RequestID == "" {
			be.RequestID = g.ID
		}
		if g.Source.Header == "Authorization" {
			be.Kind = errors.ErrUnauthenticated // market data's answer to a missing token
		}
	}
	refine(be, status)
	return be
}

// refine adjusts the kind of a Trader API 400 from its text: best effort,
// the raw message is kept either way.
func refine(be *errors.BrokerError, status int) {
	if status != http.StatusBadRequest {
		return
	}
	msg := strings.ToLower(be.Message + " " + be.Detail)
	switch {
	case strings.Contains(msg, "invalid account number"):
		be.Code = codeInvalidAccount
		be.Kind = errors.ErrConfiguration
	case strings.Contains(msg, "buying power") || strings.Contains(msg, "insufficient"):
		be.Kind = errors.ErrInsufficientFunds
	case strings.Contains(msg, "cannot be canceled") || strings.Contains(msg, "cannot be cancelled"):
		be.Kind = errors.ErrOrderNotCancelable
	}
}

// decodeErrorsField reads "errors": an array of strings (Trader API) or of
// objects (gateway), or anything else (ignored).
func decodeErrorsField(raw json.RawMessage) ([]wireGatewayError, []string) {
	if len(raw) == 0 {
		return nil, nil
	}
	var texts []string
	if json.Unmarshal(raw, &texts) == nil {
		return nil, texts
	}
	var gateway []wireGatewayError
	if json.Unmarshal(raw, &gateway) == nil {
		return gateway, nil
	}
	return nil, nil
}

func joinMessage(a, b string) string {
	switch {
	case b == "" || a == b:
		return a
	case a == "":
		return b
	}
	return a + ": " + b
}

// statusKind classifies an HTTP status of a JSON error body.
func statusKind(status int) errors.Kind {
	switch {
	case status == http.StatusUnauthorized:
		return errors.ErrUnauthenticated
	case status == http.StatusForbidden:
		return errors.ErrPermissionDenied
	case status == http.StatusNotFound:
		return errors.ErrOrderNotFound
	case status == http.StatusTooManyRequests:
		return errors.ErrRateLimited
	case status == http.StatusRequestTimeout:
		return errors.ErrTimeout
	case status >= 500:
		return errors.ErrBrokerUnavailable
	case status >= 400:
		return errors.ErrInvalidOrder
	}
	return errors.ErrMalformedResponse
}

// nonJSONKind: an HTML page, gateway text or an empty body comes from the
// CDN or gateway in front of Schwab: transient, never "not found" or
// "credentials wrong". A 429 is rate limiting whatever its body.
func nonJSONKind(status int) errors.Kind {
	if status == http.StatusTooManyRequests {
		return errors.ErrRateLimited
	}
	return errors.ErrBrokerUnavailable
}

// oauthKind classifies a token-endpoint error: a 4xx with an OAuth error
// means the refresh token is dead (log in again) or the client is refused.
func oauthKind(status int, code, desc string) errors.Kind {
	switch {
	case status >= 500:
		return errors.ErrBrokerUnavailable
	case status == http.StatusTooManyRequests:
		return errors.ErrRateLimited
	case strings.Contains(code, "token") || strings.Contains(desc, "refresh token") || code == "invalid_grant":
		return errors.ErrTokenExpired
	}
	return errors.ErrUnauthenticated
}

// rawText keeps a short, printable prefix of a body without a known shape.
func rawText(body []byte, status int) string {
	if len(body) == 0 {
		return http.StatusText(status) + " (empty body)"
	}
	s := string(body)
	if bytes.HasPrefix(bytes.ToLower(body), []byte("<")) {
		s = stripTags(s)
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if !utf8.ValidString(s) {
		s = strconv.QuoteToASCII(s)
	}
	return s
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maybeGunzip decompresses a gzip body the transport left compressed
// (Schwab compresses even unasked, error bodies included).
func maybeGunzip(body []byte) []byte {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return body
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return body
	}
	out, err := io.ReadAll(io.LimitReader(zr, 1<<20))
	if err != nil {
		return body
	}
	return out
}
