package redact_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/internal/redact"
)

func TestText(t *testing.T) {
	tests := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{"each secret", "token abcdef123 and key zyxwvu987", []string{"abcdef123", "zyxwvu987"}, "token REDACTED and key REDACTED"},
		{"longest first", "s3cr3t-s3cr3t-long", []string{"s3cr3t", "s3cr3t-s3cr3t-long"}, "REDACTED"},
		{"too short to cut", "a b c", []string{"a", ""}, "a b c"},
		{"none", "nothing here", nil, "nothing here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact.Text(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Text = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestScrubber(t *testing.T) {
	var s redact.Scrubber
	s.Fix("consumer-secret-1")
	s.Remember("access/token+1")
	tests := []struct{ in, want string }{
		{"echo consumer-secret-1", "echo REDACTED"},
		{"raw access/token+1", "raw REDACTED"},
		{"escaped access%2Ftoken%2B1", "escaped REDACTED"},
		{"Authorization: Bearer opaque.token-xyz", "Authorization: Bearer REDACTED"},
		{"jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln end", "jwt REDACTED end"},
		{`OAuth oauth_signature="abc%3D", oauth_nonce="n"`, `OAuth oauth_signature=REDACTED, oauth_nonce="n"`},
	}
	for _, tt := range tests {
		if got := s.Scrub(tt.in); got != tt.want {
			t.Errorf("Scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestScrubberForgetsTheOldestRecent(t *testing.T) {
	s := redact.Scrubber{Recent: 2}
	s.Fix("fixed-key-material")
	for i := range 5 {
		s.Remember(fmt.Sprintf("token-%d-abc", i))
	}
	got := s.Scrub("token-0-abc token-4-abc fixed-key-material")
	if got != "token-0-abc REDACTED REDACTED" {
		t.Errorf("Scrub = %q: want the oldest token forgotten, the newest and the fixed secret cut", got)
	}
}

func TestScrubberConcurrent(t *testing.T) {
	var s redact.Scrubber
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := fmt.Sprintf("secret-token-%02d", i)
			s.Remember(tok)
			if strings.Contains(s.Scrub("x "+tok), tok) {
				t.Errorf("%s not cut", tok)
			}
		}()
	}
	wg.Wait()
}

func ExampleScrubber() {
	var s redact.Scrubber
	s.Fix("my-consumer-secret")
	fmt.Println(s.Scrub(`{"error":"bad signature for key my-consumer-secret"}`))
	// Output: {"error":"bad signature for key REDACTED"}
}
