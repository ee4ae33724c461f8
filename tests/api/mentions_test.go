package api

import (
	"go/parser"
	"go/token"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInternalMentionsCatches: the check finds each way an exported name can
// carry an internal type, and passes the unexported ones.
func TestInternalMentionsCatches(t *testing.T) {
	const src = `package p

import (
	"context"
	"example.com/m/internal/httpx"
	ox "example.com/m/internal/oauth1"
)

type Config struct {
	Retry    httpx.RetryPolicy
	Observer func(context.Context, httpx.Observation)
	private  httpx.Clock
	Signer   *ox.Signer
}

type Clock = httpx.Clock

type hidden struct{ X httpx.Clock }

func New(c httpx.Config) error { return nil }

func (hidden) Exported(httpx.Clock) {}

func helper(httpx.Clock) {}
`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"type Config.Retry", "type Config.Observer", "type Config.Signer", "type Clock", "func New"}
	if diff := cmp.Diff(want, internalMentions(f)); diff != "" {
		t.Errorf("mentions (-want +got):\n%s", diff)
	}
}
