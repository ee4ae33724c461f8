package etrade

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/arbiontrader/arbion/errors"
)

// E*TRADE error codes the adapter acts on (spec §9.3).
const (
	codeUnavailable     = 100  // not available; also "account key does not belong to user"
	codePreviewTimedOut = 101  // stale, malformed or mismatched preview: nothing placed
	codeBadAccountKey   = 102  // invalid account key
	codeNoAccess        = 253  // no access to the account
	codeMaintenance     = 670  // maintenance
	codeNotEnoughShares = 1037 // not enough available shares
	codeCancelTooLate   = 5001 // being executed or rejected: cannot be cancelled
	codeInvalidAccount  = 7001
	codeInvalidInstType = 7002
)

const rateLimitText = "Number of requests exceeded the rate limit set"

var (
	oauthProblem     = regexp.MustCompile(`oauth_problem=([A-Za-z_]+)`)
	oauthProblemText = regexp.MustCompile(`oauth_problem=[A-Za-z_]+(,oauth_[A-Za-z_]+=[^\s<,]*)*`)
)

// errorBody is the {"Error":{...}} and <Error> body.
type errorBody struct {
	Code    string
	Message string
}

// decodeError classifies a non-2xx answer (spec §9.1): the body is sniffed
// by its first byte, never trusted by Content-Type: '{' is JSON, "<Error" or
// "<?xml" is XML, any other '<' is HTML, anything else text. The rate-limit
// HTML page (sent with HTTP 400) is ErrRateLimited; an oauth_problem
// anywhere (body or WWW-Authenticate) is an auth error.
func decodeError(status int, header http.Header, body []byte) *errors.BrokerError {
	be := &errors.BrokerError{Broker: brokerName}
	trimmed := bytes.TrimSpace(body)
	var eb errorBody
	var text string
	switch {
	case len(trimmed) == 0:
	case trimmed[0] == '{':
		eb = decodeJSONError(trimmed)
		text = eb.Message
	case bytes.HasPrefix(trimmed, []byte("<Error")) || bytes.HasPrefix(trimmed, []byte("<?xml")):
		eb = decodeXMLError(trimmed)
		text = eb.Message
	case trimmed[0] == '<':
		text = htmlText(trimmed)
	default:
		text = string(trimmed)
	}
	if len(text) > 300 {
		text = text[:300]
	}
	be.Code = eb.Code
	be.Message = stripStatusPrefix(eb.Message)
	if be.Message == "" && text != "" {
		be.Message = text
		if m := oauthProblemText.FindString(text); m != "" {
			be.Message = m // the page's words around it are boilerplate
		}
	}
	be.Kind = classify(status, eb, text, header.Get("WWW-Authenticate"), trimmed)
	if be.Kind == errors.ErrRateLimited && be.Message == "" {
		be.Message = rateLimitText
	}
	if p := problemIn(text, header.Get("WWW-Authenticate")); p != "" && (be.Code == "" || be.Code == "0") {
		be.Code = "oauth_problem=" + p
	}
	return be
}

func classify(status int, eb errorBody, text, wwwAuth string, raw []byte) errors.Kind {
	if bytes.Contains(raw, []byte(rateLimitText)) || status == http.StatusTooManyRequests {
		return errors.ErrRateLimited
	}
	if p := problemIn(text, wwwAuth); p != "" {
		if p == "token_expired" {
			return errors.ErrTokenExpired
		}
		return errors.ErrUnauthenticated
	}
	lower := strings.ToLower(text)
	if status == http.StatusUnauthorized || ((eb.Code == "" || eb.Code == "0") &&
		(strings.Contains(lower, "access token") || strings.Contains(lower, "session token"))) {
		return errors.ErrUnauthenticated
	}
	code, _ := strconv.Atoi(eb.Code)
	switch {
	case status == http.StatusNotFound:
		// A 404 is a definite answer whatever the code (E*TRADE sends code
		// 100 with it too): the resource is not there. Read as "not
		// available" it would be retried as an outage.
		return errors.ErrOrderNotFound
	case code == codeUnavailable && strings.Contains(lower, "does not belong"):
		return errors.ErrPermissionDenied
	case code == codeUnavailable, code == codeMaintenance:
		return errors.ErrBrokerUnavailable
	case code == codePreviewTimedOut:
		return errors.ErrOrderRejected
	case code == codeBadAccountKey, code == codeInvalidAccount, code == codeInvalidInstType:
		return errors.ErrConfiguration
	case code == codeNoAccess:
		return errors.ErrPermissionDenied
	case code == codeNotEnoughShares:
		return errors.ErrInsufficientFunds
	case code == codeCancelTooLate:
		return errors.ErrOrderNotCancelable
	case status >= 500:
		return errors.ErrBrokerUnavailable
	case code != 0:
		return errors.ErrOrderRejected
	}
	return "" // the pipeline classifies by status
}

// problemIn finds an oauth_problem in the body text or the header.
func problemIn(text, wwwAuth string) string {
	for _, s := range []string{text, wwwAuth} {
		if m := oauthProblem.FindStringSubmatch(s); m != nil {
			return m[1]
		}
	}
	return ""
}

func decodeJSONError(b []byte) errorBody {
	var v struct {
		Error struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
		} `json:"Error"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return errorBody{Message: "undecodable JSON error body"}
	}
	return errorBody{Code: strings.Trim(string(v.Error.Code), `"`), Message: v.Error.Message}
}

func decodeXMLError(b []byte) errorBody {
	var v struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"code"`
		Message string   `xml:"message"`
	}
	if xml.Unmarshal(b, &v) != nil {
		return errorBody{Message: "undecodable XML error body"}
	}
	return errorBody{Code: strings.TrimSpace(v.Code), Message: strings.TrimSpace(v.Message)}
}

var tags = regexp.MustCompile(`<[^>]*>`)

// htmlText reduces an HTML page to its words.
func htmlText(b []byte) string {
	return strings.Join(strings.Fields(tags.ReplaceAllString(string(b), " ")), " ")
}

// stripStatusPrefix removes E*TRADE's "200|" message prefix.
func stripStatusPrefix(s string) string {
	if i := strings.IndexByte(s, '|'); i > 0 && i <= 4 && isDigits(s[:i]) {
		return s[i+1:]
	}
	return s
}

// brokerCode returns the numeric E*TRADE code of err, 0 if none.
func brokerCode(err error) int {
	var be *errors.BrokerError
	if !errors.As(err, &be) {
		return 0
	}
	n, _ := strconv.Atoi(be.Code)
	return n
}

// oauthProblemOf returns the oauth_problem err carries, "" if none.
func oauthProblemOf(err error) string {
	var be *errors.BrokerError
	if !errors.As(err, &be) {
		return ""
	}
	if p, ok := strings.CutPrefix(be.Code, "oauth_problem="); ok {
		return p
	}
	return ""
}
