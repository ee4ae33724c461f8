package coinbase

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/arbiontrader/arbion/errors"
)

// brokerName is the name in every error and in Broker.Name.
const brokerName = "coinbase"

// decodeError turns a non-2xx answer into a broker error (the httpx hook):
// 401 is auth whatever the body (plain text "Unauthorized"), 429 is a rate
// limit whatever the body (often an HTML page), otherwise a JSON body is
// read in every shape Coinbase uses and a non-JSON one is reduced to a short
// tag-stripped text. A kind left empty is filled by httpx from the status.
func decodeError(status int, _ http.Header, body []byte) *errors.BrokerError {
	be := &errors.BrokerError{Broker: brokerName}
	code, message, detail, isJSON := parseErrorBody(body)
	be.Code, be.Message, be.Detail = code, message, detail
	if !isJSON {
		be.Message = shortText(body)
	}
	switch {
	case status == http.StatusUnauthorized:
		be.Kind = errors.ErrUnauthenticated
		if code == "invalid_grant" || code == "expired_token" || code == "invalid_token" {
			be.Kind = errors.ErrTokenExpired
		}
	case status == http.StatusTooManyRequests:
		be.Kind = errors.ErrRateLimited
		if !isJSON {
			be.Message = "rate limited (HTML page)"
		}
	case status >= 500:
		be.Kind = errors.ErrBrokerUnavailable
	default:
		be.Kind = codeKind(code, message)
	}
	return be
}

// parseErrorBody reads code, message and detail (error_details, when it
// says more than the message) from any of the JSON error shapes.
func parseErrorBody(body []byte) (code, message, detail string, ok bool) {
	var w wireError
	trimmed := strings.TrimSpace(string(body))
	if !strings.HasPrefix(trimmed, "{") || json.Unmarshal(body, &w) != nil {
		return "", "", "", false
	}
	code = w.Error
	if code == "" && len(w.Errors) > 0 {
		code = w.Errors[0].ID
	}
	if code == "" && len(w.Code) > 0 {
		var s string
		if json.Unmarshal(w.Code, &s) == nil {
			code = s
		} else {
			code = string(w.Code) // a numeric grpc code
		}
	}
	message = firstNonEmpty(w.Message, w.ErrorDetails, w.ErrorDescription)
	if message == "" && len(w.Errors) > 0 {
		message = w.Errors[0].Message
	}
	if w.ErrorDetails != message {
		detail = truncate(w.ErrorDetails, 300)
	}
	return code, truncate(message, 300), detail, true
}

// codeKind maps a JSON error code of a 4xx answer to a kind; "" leaves the
// status-based default.
func codeKind(code, message string) errors.Kind {
	switch strings.ToUpper(code) {
	case "PERMISSION_DENIED":
		return errors.ErrPermissionDenied
	case "NOT_FOUND":
		return errors.ErrOrderNotFound
	case "UNAUTHENTICATED":
		return errors.ErrUnauthenticated
	case "RATE_LIMIT_EXCEEDED", "RESOURCE_EXHAUSTED":
		return errors.ErrRateLimited
	case "INVALID_ARGUMENT":
		// Right after a trade an account can be briefly "not available"
		// (OctoBot): transient, so retryable.
		if strings.Contains(strings.ToLower(message), "account is not available") {
			return errors.ErrBrokerUnavailable
		}
		return errors.ErrInvalidOrder
	}
	return ""
}

var tags = regexp.MustCompile(`<[^>]*>`)

// shortText reduces a non-JSON body (HTML page, plain text) to at most 120
// characters of text.
func shortText(body []byte) string {
	s := string(body)
	if len(s) > 4096 {
		s = s[:4096]
	}
	s = strings.Join(strings.Fields(tags.ReplaceAllString(s, " ")), " ")
	return truncate(s, 120)
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// failureKinds maps the documented create/preview/order failure reasons to
// kinds. Reasons not listed fall to failureKind's patterns.
var failureKinds = map[string]errors.Kind{
	"INSUFFICIENT_FUND":                      errors.ErrInsufficientFunds,
	"INSUFFICIENT_FUNDS":                     errors.ErrInsufficientFunds,
	"PREVIEW_INSUFFICIENT_FUND":              errors.ErrInsufficientFunds,
	"PREVIEW_INSUFFICIENT_FUNDS_FOR_FUTURES": errors.ErrInsufficientFunds,
	"PREVIEW_INSUFFICIENT_LEDGER_BALANCE":    errors.ErrInsufficientFunds,
	"INVALID_LEDGER_BALANCE":                 errors.ErrInsufficientFunds,
	"PREVIEW_INVALID_LEDGER_BALANCE":         errors.ErrInsufficientFunds,
	"REJECT_REASON_INSUFFICIENT_FUNDS":       errors.ErrInsufficientFunds,
	"HOLD_FAILURE":                           errors.ErrInsufficientFunds,

	"ORDER_ENTRY_DISABLED":                  errors.ErrMarketClosed,
	"UNTRADABLE_PRODUCT":                    errors.ErrMarketClosed,
	"INVALID_FCM_TRADING_SESSION":           errors.ErrMarketClosed,
	"PREVIEW_UNTRADABLE_FCM_ACCOUNT_STATUS": errors.ErrMarketClosed,

	"UNSUPPORTED_ORDER_CONFIGURATION":             errors.ErrInvalidOrder,
	"INVALID_SIDE":                                errors.ErrInvalidOrder,
	"INVALID_PRODUCT_ID":                          errors.ErrInvalidOrder,
	"INVALID_REQUEST":                             errors.ErrInvalidOrder,
	"INVALID_MARGIN_TYPE":                         errors.ErrInvalidOrder,
	"INVALID_LEVERAGE":                            errors.ErrInvalidOrder,
	"PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE":   errors.ErrInvalidOrder,
	"PREVIEW_STOP_PRICE_BELOW_LAST_TRADE_PRICE":   errors.ErrInvalidOrder,
	"PREVIEW_BRACKET_ORDER_SIZE_EXCEEDS_POSITION": errors.ErrInvalidOrder,
	"PREVIEW_INVALID_COMMISSION_CONFIGURATION":    errors.ErrOrderRejected,
	"PREVIEW_MISSING_COMMISSION_RATE":             errors.ErrOrderRejected,
	"INVALID_NO_LIQUIDITY":                        errors.ErrOrderRejected,
	"PREVIEW_INVALID_NO_LIQUIDITY":                errors.ErrOrderRejected,
	"PREVIEW_MISSING_PRODUCT_PRICE_BOOK":          errors.ErrOrderRejected,
	"INELIGIBLE_PAIR":                             errors.ErrOrderRejected,
	"GEOFENCING_RESTRICTION":                      errors.ErrOrderRejected,
	"COMMANDER_REJECTED_NEW_ORDER":                errors.ErrOrderRejected,
	"IN_LIQUIDATION":                              errors.ErrOrderRejected,
	"PREVIEW_BREACHED_PRICE_LIMIT":                errors.ErrOrderRejected,
	"PREVIEW_BREACHED_ACCOUNT_POSITION_LIMIT":     errors.ErrOrderRejected,
	"PREVIEW_BREACHED_COMPANY_POSITION_LIMIT":     errors.ErrOrderRejected,
	"PREVIEW_INVALID_MARGIN_HEALTH":               errors.ErrOrderRejected,
	"PREVIEW_RISK_PROXY_FAILURE":                  errors.ErrOrderRejected,
	"TOO_MANY_OPEN_ORDERS":                        errors.ErrOrderRejected,
	"RATE_LIMIT_EXCEEDED":                         errors.ErrRateLimited,
	"CANNOT_EDIT_TO_BELOW_FILLED_SIZE":            errors.ErrInvalidOrder,
	"ONLY_LIMIT_ORDER_EDITS_SUPPORTED":            errors.ErrInvalidOrder,
	"SIZE_IN_QUOTE_EDITS_NOT_ALLOWED":             errors.ErrInvalidOrder,
	"EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST":      errors.ErrInvalidOrder,
	"CALLER_ID_MISMATCH":                          errors.ErrOrderNotFound,
	"ORDER_NOT_FOUND":                             errors.ErrOrderNotFound,
	"ONLY_OPEN_ORDERS_CAN_BE_EDITED":              errors.ErrOrderNotCancelable,
	"ORDER_IS_ALREADY_BEING_REPLACED":             errors.ErrOrderRejected,
	"COMMANDER_REJECTED_EDIT_ORDER":               errors.ErrOrderRejected,
	"UNKNOWN_EDIT_ORDER_FAILURE_REASON":           errors.ErrOrderRejected,
	"PREVIEW_INVALID_ORDER_CONFIG":                errors.ErrInvalidOrder,
	"PREVIEW_INVALID_STOP_PRICE":                  errors.ErrInvalidOrder,
	"PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY":       errors.ErrInvalidOrder,
	"INVALID_LIMIT_PRICE_POST_ONLY":               errors.ErrInvalidOrder,
	"INVALID_EDITED_SIZE":                         errors.ErrInvalidOrder,
	"INVALID_EDITED_PRICE":                        errors.ErrInvalidOrder,
	"INVALID_ORIGINAL_SIZE":                       errors.ErrInvalidOrder,
	"INVALID_ORIGINAL_PRICE":                      errors.ErrInvalidOrder,
	"PREVIEW_INVALID_SIDE":                        errors.ErrInvalidOrder,
	"PREVIEW_INVALID_PRODUCT_ID":                  errors.ErrInvalidOrder,
	"PREVIEW_INVALID_STOP_PRICE_PRECISION":        errors.ErrInvalidOrder,
	"PREVIEW_INVALID_QUOTE_SIZE_PRECISION":        errors.ErrInvalidOrder,
	"PREVIEW_INVALID_BASE_SIZE_TOO_SMALL":         errors.ErrInvalidOrder,
	"PREVIEW_INVALID_BASE_SIZE_TOO_LARGE":         errors.ErrInvalidOrder,
	"PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL":        errors.ErrInvalidOrder,
	"PREVIEW_INVALID_QUOTE_SIZE_TOO_LARGE":        errors.ErrInvalidOrder,
	"PREVIEW_INVALID_PRICE_TOO_LARGE":             errors.ErrInvalidOrder,
	"PREVIEW_INVALID_SIZE_PRECISION":              errors.ErrInvalidOrder,
	"PREVIEW_INVALID_PRICE_PRECISION":             errors.ErrInvalidOrder,
	"INVALID_SIZE_PRECISION":                      errors.ErrInvalidOrder,
	"INVALID_PRICE_PRECISION":                     errors.ErrInvalidOrder,
	"INVALID_LIMIT_PRICE":                         errors.ErrInvalidOrder,
	"PREVIEW_INVALID_LIMIT_PRICE":                 errors.ErrInvalidOrder,
}

// failureKind classifies a failure reason: the table first, then the
// families the spec names (precision, size limits, post-only, invalid
// fields), and a generic rejection for anything new.
func failureKind(reason string) errors.Kind {
	if k, ok := failureKinds[reason]; ok {
		return k
	}
	switch {
	case strings.Contains(reason, "INSUFFICIENT"):
		return errors.ErrInsufficientFunds
	case strings.HasSuffix(reason, "_PRECISION"), strings.HasSuffix(reason, "_TOO_SMALL"),
		strings.HasSuffix(reason, "_TOO_LARGE"), strings.HasSuffix(reason, "_POST_ONLY"),
		strings.HasPrefix(reason, "INVALID_"), strings.HasPrefix(reason, "PREVIEW_INVALID_"),
		strings.HasPrefix(reason, "PREVIEW_STOP_PRICE_"):
		return errors.ErrInvalidOrder
	}
	return errors.ErrOrderRejected
}

// informative reports whether a failure reason says something: not empty
// and not one of the UNKNOWN_* placeholders Coinbase fills absent reasons
// with.
func informative(reason string) bool {
	return reason != "" && !strings.HasPrefix(reason, "UNKNOWN_")
}

// createFailure picks the reason of a success:false create answer, in the
// spec's order: preview_failure_reason, new_order_failure_reason, error.
func createFailure(e *wireCreateError) (code, message string) {
	if e == nil {
		return "UNKNOWN_FAILURE_REASON", ""
	}
	for _, r := range []string{e.PreviewFailureReason, e.NewOrderFailureReason, e.Error} {
		if informative(r) {
			code = r
			break
		}
	}
	if code == "" {
		code = firstNonEmpty(e.NewOrderFailureReason, e.PreviewFailureReason, e.Error, "UNKNOWN_FAILURE_REASON")
	}
	return code, firstNonEmpty(e.Message, e.ErrorDetails)
}

// cancelFailureKind classifies a batch-cancel failure reason whose meaning
// does not depend on the order's state.
func cancelFailureKind(reason string) errors.Kind {
	switch reason {
	case "ORDER_IS_FULLY_FILLED", "NOT_ALLOWED_TO_CANCEL":
		return errors.ErrOrderNotCancelable
	case "INVALID_CANCEL_REQUEST", "INVALID_CANCEL_PRODUCT_ID":
		return errors.ErrInvalidOrder
	case "INVALID_CANCEL_FCM_TRADING_SESSION":
		return errors.ErrMarketClosed
	}
	return errors.ErrOrderRejected
}
