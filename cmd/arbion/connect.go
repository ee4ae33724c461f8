package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade"
	"github.com/arbiontrader/arbion/schwab"
	"golang.org/x/oauth2"
)

// Token store keys.
const (
	coinbaseCDPKey   = "coinbase/cdp"
	coinbaseOAuthKey = "coinbase/oauth"
)

func schwabStoreKey(account string) string { return "schwab/" + account }

// Schwab's callback must be https and is not served here: the user pastes it.
const defaultSchwabRedirect = "https://127.0.0.1:8182/callback"

// defaultCoinbaseRedirect is the callback registered for a Coinbase OAuth
// app; like Schwab's, it is pasted back, not served.
const defaultCoinbaseRedirect = "http://127.0.0.1:8183/callback"

// Coinbase's OAuth2 host (the API host is coinbase.DefaultBaseURL).
const coinbaseLoginURL = "https://login.coinbase.com"

// emulatorRate is the client-side rate (per second) against an emulator.
const emulatorRate = 1000

// unlimited reports whether the client-side rate limits are lifted: only
// with ARBION_EMULATOR_RATE=1 and a loopback base URL, since those limits
// keep a real account within its broker's quotas.
func (c *cli) unlimited(s settings) bool {
	if c.env("ARBION_EMULATOR_RATE") != "1" || s.baseURL == "" {
		return false
	}
	u, err := url.Parse(s.baseURL)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}

// tokenStore opens the encrypted token file of the data directory under the
// key from ARBION_TOKEN_KEY or ARBION_TOKEN_KEY_FILE.
func (c *cli) tokenStore(s settings) (*auth.FileStore, error) {
	var key []byte
	var err error
	switch {
	case c.env("ARBION_TOKEN_KEY") != "":
		key, err = auth.ParseKey(c.env("ARBION_TOKEN_KEY"))
	case c.env("ARBION_TOKEN_KEY_FILE") != "":
		key, err = auth.KeyFromFile(c.env("ARBION_TOKEN_KEY_FILE"))
	default:
		err = fmt.Errorf("no token key: set ARBION_TOKEN_KEY or ARBION_TOKEN_KEY_FILE: %w", errors.ErrEncryptionKeyMissing)
	}
	if err != nil {
		return nil, err
	}
	return auth.NewFileStore(tokenPath(s), key)
}

// tokenPath is the encrypted token file.
func tokenPath(s settings) string {
	return filepath.Join(s.dataDir, "tokens.enc")
}

// account is a connection to one account.
type account struct {
	broker.Broker
	key string // the account's key in the order store: broker/account
}

// connect builds the adapter for the settings, with its tokens from the
// store. Nothing is sent yet.
func (c *cli) connect(s settings) (*account, error) {
	if s.broker == coinbaseName && s.keyFile != "" {
		return c.connectCoinbase(s, nil) // a CDP key file needs no token file
	}
	store, err := c.tokenStore(s)
	if err != nil {
		return nil, err
	}
	switch s.broker {
	case schwabName:
		return c.connectSchwab(s, store)
	case coinbaseName:
		return c.connectCoinbase(s, store)
	default:
		return c.connectEtrade(s, store)
	}
}

func (c *cli) schwabOAuth(s settings) (*oauth2.Config, error) {
	appKey, appSecret := c.env("ARBION_SCHWAB_APP_KEY"), c.env("ARBION_SCHWAB_APP_SECRET")
	if appKey == "" || appSecret == "" {
		return nil, fmt.Errorf("set ARBION_SCHWAB_APP_KEY and ARBION_SCHWAB_APP_SECRET to your app's key and secret (developer.schwab.com): %w", errors.ErrConfiguration)
	}
	return schwab.OAuth2Config(appKey, appSecret, first(s.redirectURL, defaultSchwabRedirect), first(s.baseURL, schwab.DefaultBaseURL)), nil
}

func needAccount(s settings, what string) error {
	if s.account == "" {
		return usagef("which account? Give --account (%s), or set ARBION_ACCOUNT or \"account\" in the config file", what)
	}
	return nil
}

func (c *cli) connectSchwab(s settings, store *auth.FileStore) (*account, error) {
	if err := needAccount(s, "the Schwab account number"); err != nil {
		return nil, err
	}
	oc, err := c.schwabOAuth(s)
	if err != nil {
		return nil, err
	}
	src, err := auth.NewSource(auth.SourceConfig{Broker: schwab.Name, OAuth2: oc, Store: store,
		StoreKey: schwabStoreKey(s.account), RefreshLifetime: schwab.RefreshLifetime})
	if err != nil {
		return nil, err
	}
	cfg := schwab.Config{AccountNumber: s.account, Tokens: src, BaseURL: s.baseURL, AppSecret: c.env("ARBION_SCHWAB_APP_SECRET")}
	if c.unlimited(s) {
		cfg.RequestsPerMinute, cfg.OrderRequestsPerMinute = -1, -1
	}
	b, err := schwab.New(cfg)
	if err != nil {
		return nil, err
	}
	return &account{Broker: b, key: "schwab/" + s.account}, nil
}

// cdpKey is a Coinbase CDP API key file as downloaded from the portal.
type cdpKey struct {
	Name       string `json:"name"`
	ID         string `json:"id"` // newer Ed25519 keys name themselves by id
	PrivateKey string `json:"privateKey"`
}

// readCDPKey reads a CDP key file.
func readCDPKey(path string) (coinbase.Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return coinbase.Credentials{}, fmt.Errorf("coinbase key file: %w: %w", err, errors.ErrConfiguration)
	}
	var k cdpKey
	if err := json.Unmarshal(data, &k); err != nil {
		return coinbase.Credentials{}, fmt.Errorf("coinbase key file %s is not a CDP key JSON file (name, privateKey): %w", path, errors.ErrConfiguration)
	}
	name := first(k.Name, k.ID)
	if name == "" || k.PrivateKey == "" {
		return coinbase.Credentials{}, fmt.Errorf("coinbase key file %s lacks name or privateKey: %w", path, errors.ErrConfiguration)
	}
	return coinbase.Credentials{KeyName: name, PrivateKey: k.PrivateKey}, nil
}

func (c *cli) coinbaseOAuth(s settings) (*oauth2.Config, error) {
	id, secret := c.env("ARBION_COINBASE_CLIENT_ID"), c.env("ARBION_COINBASE_CLIENT_SECRET")
	if id == "" || secret == "" {
		return nil, fmt.Errorf("set ARBION_COINBASE_CLIENT_ID and ARBION_COINBASE_CLIENT_SECRET for an OAuth login, or ARBION_COINBASE_KEY_FILE to a CDP API key file: %w", errors.ErrConfiguration)
	}
	host := coinbaseLoginURL
	if s.baseURL != "" {
		host = s.baseURL // an emulator serves both
	}
	return &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: first(s.redirectURL, defaultCoinbaseRedirect),
		Scopes:   []string{"wallet:accounts:read", "wallet:buys:create", "wallet:transactions:read", "wallet:user:read", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: host + "/oauth2/auth", TokenURL: host + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}, nil
}

// connectCoinbase uses, in this order: the CDP key file named by the
// settings (store may then be nil), the CDP key stored by `arbion login
// coinbase --key-file`, or the OAuth login.
func (c *cli) connectCoinbase(s settings, store *auth.FileStore) (*account, error) {
	cfg := coinbase.Config{BaseURL: s.baseURL, Stream: coinbase.StreamConfig{
		MarketURL: c.env("ARBION_COINBASE_MARKET_STREAM_URL"), UserURL: c.env("ARBION_COINBASE_USER_STREAM_URL")}}
	if s.keyFile != "" {
		creds, err := readCDPKey(s.keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Credentials = creds
		return c.newCoinbase(s, cfg)
	}
	switch tok, err := store.Load(c.ctx, coinbaseCDPKey); {
	case err == nil:
		cfg.Credentials = coinbase.Credentials{KeyName: tok.Extra["key_name"], PrivateKey: tok.Secret}
	case !errors.Is(err, auth.ErrNoToken):
		return nil, err
	default:
		if _, err := store.Load(c.ctx, coinbaseOAuthKey); err != nil {
			return nil, err
		}
		oc, err := c.coinbaseOAuth(s)
		if err != nil {
			return nil, err
		}
		if err := needAccount(s, "the portfolio uuid the OAuth login trades"); err != nil {
			return nil, err
		}
		src, err := auth.NewSource(auth.SourceConfig{Broker: coinbaseName, OAuth2: oc, Store: store, StoreKey: coinbaseOAuthKey})
		if err != nil {
			return nil, err
		}
		cfg.OAuth, cfg.RetailPortfolioID = src, s.account
	}
	return c.newCoinbase(s, cfg)
}

func (c *cli) newCoinbase(s settings, cfg coinbase.Config) (*account, error) {
	if c.unlimited(s) {
		cfg.RequestsPerSecond = emulatorRate
	}
	b, err := coinbase.New(cfg)
	if err != nil {
		return nil, err
	}
	return &account{Broker: b, key: "coinbase/" + first(s.account, cfg.Credentials.KeyName, "oauth")}, nil
}

func (c *cli) etradeConfig(s settings, store *auth.FileStore) (etrade.Config, error) {
	if err := needAccount(s, "the E*TRADE accountIdKey"); err != nil {
		return etrade.Config{}, err
	}
	key, secret := c.env("ARBION_ETRADE_CONSUMER_KEY"), c.env("ARBION_ETRADE_CONSUMER_SECRET")
	if key == "" || secret == "" {
		return etrade.Config{}, fmt.Errorf("set ARBION_ETRADE_CONSUMER_KEY and ARBION_ETRADE_CONSUMER_SECRET to your E*TRADE application's key: %w", errors.ErrConfiguration)
	}
	cfg := etrade.Config{ConsumerKey: key, ConsumerSecret: secret, AccountIDKey: s.account, Store: store, Sandbox: s.sandbox}
	if c.unlimited(s) {
		cfg.AccountsPerSecond, cfg.OrdersPerSecond, cfg.MarketPerSecond = emulatorRate, emulatorRate, emulatorRate
	}
	if s.baseURL != "" {
		cfg.APIURL, cfg.OAuthURL, cfg.AuthorizeURL = s.baseURL, s.baseURL, s.baseURL+"/e/t/etws/authorize"
	}
	return cfg, nil
}

func (c *cli) connectEtrade(s settings, store *auth.FileStore) (*account, error) {
	cfg, err := c.etradeConfig(s, store)
	if err != nil {
		return nil, err
	}
	b, err := etrade.New(cfg)
	if err != nil {
		return nil, err
	}
	return &account{Broker: b, key: "etrade/" + s.account}, nil
}
