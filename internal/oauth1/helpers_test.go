package oauth1

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
)

// rawKeySignature signs with a key used as given, to reproduce the classic
// bug of leaving the secrets unencoded.
func rawKeySignature(base, key string) string {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
