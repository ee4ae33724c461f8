package oauth1_test

import (
	"fmt"
	"net/url"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/internal/oauth1"
)

// The E*TRADE developer guide's worked example.
func ExampleSigner_Authorization() {
	s := &oauth1.Signer{
		ConsumerKey:    "c5bb4dcb7bd6826c7c4340df3f791188",
		ConsumerSecret: "7d30246211192cda43ede3abd9b393b9",
		Nonce:          func() string { return "0bba225a40d1bbac2430aa0c6163ce44" },
		Clock:          clocktest.New(time.Unix(1344885636, 0)),
	}
	u, _ := url.Parse("https://api.etrade.com/v1/accounts/list")
	h, err := s.Authorization("GET", u, nil, oauth1.Credentials{
		Token:       "VbiNYl63EejjlKdQM6FeENzcnrLACrZ2JYD6NQROfVI=",
		TokenSecret: "XCF9RzyQr4UEPloA+WlC06BnTfYC1P0Fwr3GUw/B0Es=",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h)
	// Output:
	// OAuth oauth_consumer_key="c5bb4dcb7bd6826c7c4340df3f791188",oauth_nonce="0bba225a40d1bbac2430aa0c6163ce44",oauth_signature="UOnPVdzExTAgHkcGWLLfeTaaMSM%3D",oauth_signature_method="HMAC-SHA1",oauth_timestamp="1344885636",oauth_token="VbiNYl63EejjlKdQM6FeENzcnrLACrZ2JYD6NQROfVI%3D"
}
