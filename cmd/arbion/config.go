package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/arbiontrader/arbion/errors"
)

// Broker names the CLI knows.
const (
	schwabName   = "schwab"
	coinbaseName = "coinbase"
	etradeName   = "etrade"
)

// fileConfig is the config file: settings only. It has no field for a
// secret, and a file that names one is refused (unknown fields are errors),
// so that no secret ends up written there.
type fileConfig struct {
	Broker   string        `json:"broker"`
	DataDir  string        `json:"data_dir"`
	Schwab   brokerSection `json:"schwab"`
	Coinbase brokerSection `json:"coinbase"`
	Etrade   brokerSection `json:"etrade"`
}

// brokerSection is one broker's settings in the config file.
type brokerSection struct {
	Account     string `json:"account"`
	BaseURL     string `json:"base_url"`
	RedirectURL string `json:"redirect_url"`
	Sandbox     bool   `json:"sandbox"`
	KeyFile     string `json:"key_file"` // Coinbase: the path of a CDP key file (the path, not the key)
}

func (f fileConfig) section(name string) brokerSection {
	switch name {
	case schwabName:
		return f.Schwab
	case coinbaseName:
		return f.Coinbase
	case etradeName:
		return f.Etrade
	}
	return brokerSection{}
}

// settings are what a command needs to reach an account, resolved from
// flags, then the environment, then the config file.
type settings struct {
	broker      string
	account     string
	baseURL     string
	redirectURL string
	sandbox     bool
	keyFile     string // Coinbase CDP key file
	dataDir     string
	json        bool
}

// common is the flags every account command takes.
type common struct {
	broker, account, baseURL, redirectURL string
	json                                  bool
}

func (o *common) register(fs *flag.FlagSet) {
	fs.StringVar(&o.broker, "broker", "", "schwab, coinbase or etrade (ARBION_BROKER)")
	fs.StringVar(&o.account, "account", "", "account: Schwab account number, E*TRADE accountIdKey, Coinbase OAuth portfolio (ARBION_ACCOUNT)")
	fs.StringVar(&o.baseURL, "base-url", "", "the broker's API host, e.g. an emulator's URL (ARBION_BASE_URL)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of tables")
}

// newFlags returns a flag set that prints its usage to the command's stderr
// and returns errors instead of exiting.
func (c *cli) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("arbion "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a mistake is reported once, by finish
	fs.Usage = func() {}     // -h is answered by parse, on stdout
	return fs
}

// parse parses flags placed anywhere among the positional arguments
// (`arbion quote AAPL --json MSFT`), returning the positional ones.
func (c *cli) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if len(args) > 0 && negativeNumber.MatchString(args[0]) {
			pos, args = append(pos, args[0]), args[1:] // a bad quantity, for the command to refuse
			continue
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(c.stdout, "usage: %s [flags]\n", fs.Name())
				fs.SetOutput(c.stdout)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

var negativeNumber = regexp.MustCompile(`^-[0-9.]`)

// resolve builds the settings of a command for the broker named by the flag,
// the environment or the config file (or by brokerArg, a positional name).
func (c *cli) resolve(o common, brokerArg string) (settings, error) {
	fc, err := c.loadConfig()
	if err != nil {
		return settings{}, err
	}
	s := settings{json: o.json}
	s.broker = first(brokerArg, o.broker, c.env("ARBION_BROKER"), fc.Broker)
	if s.broker == "" {
		return s, usagef("which broker? Give --broker schwab|coinbase|etrade, or set ARBION_BROKER or \"broker\" in the config file")
	}
	if err := checkBrokerName(s.broker); err != nil {
		return s, err
	}
	c.broker = s.broker
	sec := fc.section(s.broker)
	s.account = first(o.account, c.env("ARBION_ACCOUNT"), sec.Account)
	s.baseURL = strings.TrimRight(first(o.baseURL, c.env("ARBION_BASE_URL"), sec.BaseURL), "/")
	s.redirectURL = first(o.redirectURL, c.env("ARBION_REDIRECT_URL"), sec.RedirectURL)
	s.sandbox = sec.Sandbox || c.env("ARBION_ETRADE_SANDBOX") == "1"
	s.keyFile = first(c.env("ARBION_COINBASE_KEY_FILE"), sec.KeyFile)
	s.dataDir, err = c.dataDir(fc)
	return s, err
}

func checkBrokerName(name string) error {
	switch name {
	case schwabName, coinbaseName, etradeName:
		return nil
	}
	return usagef("unknown broker %q: choose schwab, coinbase or etrade", name)
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// configDir is $ARBION_CONFIG_DIR, else os.UserConfigDir()/arbion.
func (c *cli) configDir() (string, error) {
	if d := c.env("ARBION_CONFIG_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no config directory (%v): set ARBION_CONFIG_DIR: %w", err, errors.ErrConfiguration)
	}
	return filepath.Join(d, "arbion"), nil
}

// dataDir is where the token file and the order database live:
// $ARBION_DATA_DIR, the config file's data_dir, $XDG_DATA_HOME/arbion, or
// ~/.local/share/arbion. It is created (0700) if missing.
func (c *cli) dataDir(fc fileConfig) (string, error) {
	d := first(c.env("ARBION_DATA_DIR"), fc.DataDir)
	if d == "" && c.env("XDG_DATA_HOME") != "" {
		d = filepath.Join(c.env("XDG_DATA_HOME"), "arbion")
	}
	if d == "" {
		home := c.env("HOME")
		if home == "" {
			return "", fmt.Errorf("no data directory: set ARBION_DATA_DIR: %w", errors.ErrConfiguration)
		}
		d = filepath.Join(home, ".local", "share", "arbion")
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	return d, nil
}

// loadConfig reads the config file; a missing file is an empty config.
func (c *cli) loadConfig() (fileConfig, error) {
	var fc fileConfig
	dir, err := c.configDir()
	if err != nil {
		return fc, err
	}
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fc, nil
	}
	if err != nil {
		return fc, fmt.Errorf("config file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil && err != io.EOF {
		return fc, fmt.Errorf("config file %s: %v (it holds settings only: secrets go in the environment or files): %w",
			path, err, errors.ErrConfiguration)
	}
	return fc, nil
}
