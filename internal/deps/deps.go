package deps

import (
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/shopspring/decimal"
	_ "golang.org/x/oauth2"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
