package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade"
	"github.com/arbiontrader/arbion/schwab"
	"golang.org/x/oauth2"
)

func (c *cli) login(args []string) error {
	fs := c.newFlags("login")
	var o common
	o.register(fs)
	fs.StringVar(&o.redirectURL, "redirect-url", "", "the callback URL registered for the app, byte for byte (ARBION_REDIRECT_URL)")
	keyFile := fs.String("key-file", "", "coinbase: log in with this CDP API key file instead of OAuth (its key is stored encrypted)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one broker: arbion login schwab|coinbase|etrade")
	}
	if err := checkBrokerName(pos[0]); err != nil {
		return err
	}
	s, err := c.resolve(o, pos[0])
	if err != nil {
		return err
	}
	store, err := c.tokenStore(s)
	if err != nil {
		return err
	}
	switch s.broker {
	case schwabName:
		return c.loginSchwab(s, store)
	case coinbaseName:
		if kf := first(*keyFile, s.keyFile); kf != "" {
			return c.loginCDP(s, store, kf)
		}
		return c.loginCoinbaseOAuth(s, store)
	default:
		return c.loginEtrade(s, store)
	}
}

// pasteFlow runs an OAuth2 login in which the user opens the URL and pastes
// back the URL the browser landed on (the state is checked by the flow).
func (c *cli) pasteFlow(lc auth.LoginConfig) (auth.Token, error) {
	flow, err := auth.NewFlow(lc)
	if err != nil {
		return auth.Token{}, err
	}
	fmt.Fprintln(c.stdout, "Open this URL in a browser, log in, then paste the URL the browser lands on")
	fmt.Fprintln(c.stdout, "(the page may fail to load: its address is what counts):")
	fmt.Fprintln(c.stdout, flow.AuthURL())
	fmt.Fprint(c.stderr, "> ")
	line, err := c.readLine()
	if err != nil || line == "" {
		return auth.Token{}, usagef("no redirect URL pasted: nothing was saved")
	}
	return flow.Complete(c.ctx, line)
}

// readLine reads one line from stdin, trimmed.
func (c *cli) readLine() (string, error) {
	line, err := c.stdin.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

func (c *cli) loginSchwab(s settings, store *auth.FileStore) error {
	if err := needAccount(s, "the Schwab account number"); err != nil {
		return err
	}
	oc, err := c.schwabOAuth(s)
	if err != nil {
		return err
	}
	tok, err := c.pasteFlow(schwab.LoginConfig(oc, store, schwabStoreKey(s.account)))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "logged in to schwab; tokens saved encrypted in %s\nlog in again before %s (Schwab ends a login after 7 days)\n",
		tokenPath(s), tok.RefreshExpiry.Format(time.RFC3339))
	return nil
}

func (c *cli) loginCoinbaseOAuth(s settings, store *auth.FileStore) error {
	oc, err := c.coinbaseOAuth(s)
	if err != nil {
		return err
	}
	if _, err := c.pasteFlow(auth.LoginConfig{Broker: coinbaseName, OAuth2: oc, Store: store, StoreKey: coinbaseOAuthKey}); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "logged in to coinbase (OAuth); tokens saved encrypted in %s\n", tokenPath(s))
	return nil
}

// loginCDP checks a CDP API key against Coinbase and stores it in the
// encrypted token file, so that later commands need not the key file.
func (c *cli) loginCDP(s settings, store *auth.FileStore, path string) error {
	creds, err := readCDPKey(path)
	if err != nil {
		return err
	}
	b, err := coinbase.New(coinbase.Config{Credentials: creds, BaseURL: s.baseURL})
	if err != nil {
		return err
	}
	if _, err := b.Account(c.ctx); err != nil {
		return fmt.Errorf("the key was not accepted: %w", err)
	}
	tok := auth.Token{AccessToken: "cdp-api-key", Secret: creds.PrivateKey, Extra: map[string]string{"key_name": creds.KeyName}}
	if err := store.Save(c.ctx, coinbaseCDPKey, tok); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "coinbase API key accepted and saved encrypted in %s; you may delete %s now\n", tokenPath(s), path)
	return nil
}

func (c *cli) loginEtrade(s settings, store *auth.FileStore) error {
	cfg, err := c.etradeConfig(s, store)
	if err != nil {
		return err
	}
	b, err := etrade.New(cfg)
	if err != nil {
		return err
	}
	rt, authURL, err := b.StartLogin(c.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "Open this URL in a browser, approve the application, and type the verification code it shows:")
	fmt.Fprintln(c.stdout, authURL)
	fmt.Fprint(c.stderr, "verification code: ")
	code, err := c.readLine()
	if err != nil || code == "" {
		return usagef("no verification code typed")
	}
	if err := b.CompleteLogin(c.ctx, rt, code); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "logged in to etrade; the token is saved encrypted in %s and ends at midnight US Eastern (%s)\n",
		tokenPath(s), b.Health(c.ctx).LoginExpiry.Format(time.RFC3339))
	return nil
}

func (c *cli) logout(args []string) error {
	fs := c.newFlags("logout")
	var o common
	o.register(fs)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one broker: arbion logout schwab|coinbase|etrade")
	}
	if err := checkBrokerName(pos[0]); err != nil {
		return err
	}
	s, err := c.resolve(o, pos[0])
	if err != nil {
		return err
	}
	store, err := c.tokenStore(s)
	if err != nil {
		return err
	}
	switch s.broker {
	case schwabName:
		if err := needAccount(s, "the Schwab account number"); err != nil {
			return err
		}
		if err := store.Delete(c.ctx, schwabStoreKey(s.account)); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "schwab token deleted. Schwab offers no revocation to apps: the login ends by itself 7 days after it began.")
	case coinbaseName:
		return c.logoutCoinbase(s, store)
	default:
		cfg, err := c.etradeConfig(s, store)
		if err != nil {
			return err
		}
		b, err := etrade.New(cfg)
		if err != nil {
			return err
		}
		revokeErr := b.Revoke(c.ctx)
		if err := store.Delete(c.ctx, "etrade/"+cfg.AccountIDKey); err != nil {
			return err
		}
		if revokeErr != nil && !errors.Is(revokeErr, errors.ErrUnauthenticated) && !errors.Is(revokeErr, errors.ErrTokenExpired) {
			return fmt.Errorf("token deleted here, but E*TRADE did not confirm the revocation: %w", revokeErr)
		}
		fmt.Fprintln(c.stdout, "etrade token revoked and deleted.")
	}
	return nil
}

func (c *cli) logoutCoinbase(s settings, store *auth.FileStore) error {
	if _, err := store.Load(c.ctx, coinbaseCDPKey); err == nil {
		if err := store.Delete(c.ctx, coinbaseCDPKey); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "coinbase API key deleted from the token file; to revoke the key itself, delete it in the CDP portal.")
	}
	tok, err := store.Load(c.ctx, coinbaseOAuthKey)
	if errors.Is(err, auth.ErrNoToken) {
		return nil
	}
	if err != nil {
		return err
	}
	oc, err := c.coinbaseOAuth(s)
	if err != nil {
		return err
	}
	revokeErr := revokeOAuth(c.ctx, strings.TrimSuffix(oc.Endpoint.TokenURL, "/token")+"/revoke", oc, tok)
	if err := store.Delete(c.ctx, coinbaseOAuthKey); err != nil {
		return err
	}
	if revokeErr != nil {
		return fmt.Errorf("token deleted here, but the revocation failed: %w", revokeErr)
	}
	fmt.Fprintln(c.stdout, "coinbase OAuth token revoked and deleted.")
	return nil
}

// revokeOAuth posts the access token to an OAuth2 revocation endpoint
// (RFC 7009), as Coinbase documents it.
func revokeOAuth(ctx context.Context, endpoint string, oc *oauth2.Config, tok auth.Token) error {
	form := url.Values{"token": {tok.AccessToken}, "client_id": {oc.ClientID}, "client_secret": {oc.ClientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", errors.ErrNetwork) // the URL error could quote the form: say only the kind
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke answered HTTP %d: %w", resp.StatusCode, errors.ErrBrokerUnavailable)
	}
	return nil
}
