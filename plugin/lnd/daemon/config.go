package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/internal/advice"
	"github.com/chanfitness/chanfitness/plugin/internal/duration"
)

// Defaults of the command line.
const (
	DefaultLndHost    = "localhost:10009"
	DefaultTLSCert    = "~/.lnd/tls.cert"
	DefaultNetwork    = "mainnet"
	DefaultStore      = "badger"
	DefaultListen     = "127.0.0.1:9739"
	DefaultDebugLevel = "info"
)

// LndConfig says how to reach lnd (the --lnd.* options).
type LndConfig struct {
	Host string `long:"host" description:"lnd's RPC address (host:port)"`

	TLSCertPath string `long:"tlscertpath" description:"Path to lnd's TLS certificate"`

	MacaroonPath string `long:"macaroonpath" description:"Path to a macaroon with info:read, offchain:read and peers:read (and onchain:read for the open times of older channels)" default-mask:"~/.lnd/data/chain/bitcoin/<network>/readonly.macaroon"`
}

// ListenConfig holds the --listen.* options.
type ListenConfig struct {
	Insecure bool `long:"insecure" description:"Serve plain HTTP without a token (the report shows every channel and peer to whoever can reach --listen)"`
}

// TLSConfig holds the --tls.* options of the HTTP server.
type TLSConfig struct {
	CertPath string `long:"certpath" description:"The HTTP server's TLS certificate, with --tls.keypath; without both, a self-signed pair is made in --datadir" default-mask:"<datadir>/tls.cert"`

	KeyPath string `long:"keypath" description:"The key of --tls.certpath" default-mask:"<datadir>/tls.key"`

	ExtraDomains []string `long:"extradomain" description:"A domain the generated certificate also names (repeatable)"`

	ExtraIPs []string `long:"extraip" description:"An IP address the generated certificate also names (repeatable)"`
}

// AuthConfig holds the --auth.* options of the HTTP server.
type AuthConfig struct {
	TokenPath string `long:"tokenpath" description:"The read-only bearer token of the HTTP server; made when missing" default-mask:"<datadir>/api.token"`
}

// PostgresConfig holds the --postgres.* options.
type PostgresConfig struct {
	DSN string `long:"dsn" description:"With --store=postgres: the database's connection string, a URL (postgres://user:password@host:port/db) or key=value pairs; PG* environment variables (PGPASSWORD, ...) fill what it leaves out"`
}

// Config is the command line of chanfitness-lnd.
type Config struct {
	Postgres *PostgresConfig `group:"postgres" namespace:"postgres"`

	Lnd *LndConfig `group:"lnd" namespace:"lnd"`

	ListenOpts *ListenConfig `group:"listen" namespace:"listen"`

	TLS *TLSConfig `group:"tls" namespace:"tls"`

	Auth *AuthConfig `group:"auth" namespace:"auth"`

	Network string `long:"network" description:"The network lnd runs on: mainnet, testnet, testnet4, signet, regtest or simnet"`

	DataDir string `long:"datadir" description:"Directory of the companion's history" default-mask:"~/.chanfitness-lnd/<network>"`

	Store string `long:"store" description:"Where history is kept: badger (on disk, in --datadir), postgres (in the database of --postgres.dsn, beside other nodes') or memory (lost at exit)"`

	Listen string `long:"listen" description:"Address of the HTTP server (the timeline page at /, /v1/report, /v1/timeline, /v1/fleet, /v1/health, /metrics), served over TLS with a bearer token unless --listen.insecure; the report command asks it"`

	DebugLevel string `long:"debuglevel" description:"Logging level for all subsystems {trace, debug, info, warn, error, critical, off}, or per subsystem: <subsystem>=<level>,... with subsystems LNDC (the companion), STOR (the store) and CHFT (the monitor); both may be given, as in info,CHFT=debug"`

	ReconcileInterval duration.Flag `long:"reconcileinterval" description:"How often to compare lnd's channels and peers with the events received and repair what lnd did not send, such as 5m; 0 never"`

	ClosedRetention duration.Flag `long:"closedretention" description:"How long a closed channel stays in the report, such as 90d; 0 keeps closed channels forever"`

	SyncInterval duration.Flag `long:"syncinterval" description:"How often, such as 1m, the heartbeat is written, failed writes are tried again and the history is made durable: badger syncs it to disk (a machine crash loses at most this much; an idle companion syncs no more often); postgres, which commits every write as it is made, has the server flush its write-ahead log"`

	VerdictMinMonitored string `long:"verdictminmonitored" description:"Monitored time with an open channel before a peer is judged (too_new until then), such as 14d"`

	VerdictWindow string `long:"verdictwindow" description:"Window of the verdicts' uptime, outage and outlier rules, such as 30d"`

	VerdictWatchUptime string `long:"verdictwatchuptime" description:"Uptime ratio below which a peer is watch"`

	VerdictCloseUptime string `long:"verdictcloseuptime" description:"Uptime ratio below which a peer is consider_closing"`

	VerdictWatchFlaps string `long:"verdictwatchflaps" description:"Flap count (lnd's, cooled) above which a peer is watch"`

	VerdictCloseFlaps string `long:"verdictcloseflaps" description:"Flap count (lnd's, cooled) above which a peer is consider_closing"`

	VerdictWatchOutage string `long:"verdictwatchoutage" description:"Longest outage in the window from which a peer is watch, such as 6h"`

	VerdictCloseOutage string `long:"verdictcloseoutage" description:"Longest outage in the window from which a peer is consider_closing, such as 48h"`

	ExportDir string `long:"exportdir" description:"Directory where report.json, unreliable-peers.txt and watch-peers.txt are kept current; relative to --datadir; empty: none"`

	AlertOfflineAfter string `long:"alertofflineafter" description:"How long a peer with a channel is offline before an alert, such as 30m"`

	AlertVerdictAfter string `long:"alertverdictafter" description:"How long a peer with a channel keeps a new verdict (monitored time) before a verdict change alert, such as 6h; 0 at once"`

	AlertWebhook string `long:"alertwebhook" description:"URL that alerts are POSTed to as JSON; empty: none"`

	AlertCommand string `long:"alertcommand" description:"Command run (by /bin/sh) for each alert, with its JSON on stdin; empty: none"`

	// advice holds the options above, read and checked by resolve.
	advice advice.Settings

	Restore RestoreCommand `command:"restore" description:"Rebuild the history from its backup" long-description:"With the companion stopped, rebuild the history in --datadir from its newest intact backup (or --from). The time since the backup was taken counts as unmonitored."`

	Advice AdviceCommand `command:"advice" description:"Print the verdict of each peer of a running daemon, worst first" long-description:"Ask the running daemon at --listen for its report and print one line per peer, worst first: its verdict (consider_closing, watch, too_new, ok) and why; --json prints the same as JSON."`

	Migrate MigrateCommand `command:"migrate" description:"Copy the history into another store" long-description:"With the companion stopped, copy the badger history in --datadir into the PostgreSQL database of --postgres.dsn, under the public key lnd gives (lnd must be reachable). The copy is one transaction, checked by counting; run again, it copies nothing."`

	Fleet FleetCommand `command:"fleet" description:"Print the fleet view of a running daemon" long-description:"Ask the running daemon at --listen (on --store=postgres) for the fleet view: each peer as seen from every node of ours in the same database, the peer's own availability and each link's, over 1d, 7d and 30d."`

	Report ReportCommand `command:"report" description:"Print the report of a running daemon" long-description:"Ask the running daemon at --listen for its report and print it as tables, or as JSON with --json."`
}

// ReportCommand holds the options of the report command.
type ReportCommand struct {
	Peer   string `long:"peer" description:"Only this peer (66 hex characters) and its channels"`
	Window string `long:"window" description:"Headline window: 1d, 7d, 30d, lifetime or a duration such as 12h" default:"lifetime"`
	JSON   bool   `long:"json" description:"Print the JSON report instead of tables"`
}

// AdviceCommand holds the options of the advice command.
type AdviceCommand struct {
	JSON bool `long:"json" description:"Print the advice as JSON"`
}

// MigrateCommand holds the options of the migrate command.
type MigrateCommand struct {
	From string `long:"from" description:"The store to copy from" default:"badger"`
	To   string `long:"to" description:"The store to copy into" default:"postgres"`
}

// RestoreCommand holds the options of the restore command.
type RestoreCommand struct {
	From string `long:"from" description:"Backup file to restore (default: the newest intact backup in the history directory)"`
}

// defaultConfig returns the configuration before the command line.
func defaultConfig() *Config {
	c := &Config{
		Lnd: &LndConfig{
			Host:        DefaultLndHost,
			TLSCertPath: DefaultTLSCert,
		},
		Postgres:          &PostgresConfig{},
		ListenOpts:        &ListenConfig{},
		TLS:               &TLSConfig{},
		Auth:              &AuthConfig{},
		Network:           DefaultNetwork,
		Store:             DefaultStore,
		Listen:            DefaultListen,
		DebugLevel:        DefaultDebugLevel,
		ReconcileInterval: duration.Flag(duration.DefaultReconcile),
		ClosedRetention: duration.Flag(
			duration.DefaultClosedRetention),
		SyncInterval: duration.Flag(core.DefaultSyncInterval),
		Report:       ReportCommand{Window: "lifetime"},
		Migrate: MigrateCommand{From: "badger",
			To: "postgres"},
	}
	for _, o := range advice.Options() {
		*c.adviceField(o.Name) = o.Default
	}
	return c
}

// adviceField returns the field of an advice option.
func (c *Config) adviceField(name string) *string {
	return map[string]*string{
		advice.MinMonitored: &c.VerdictMinMonitored,
		advice.Window:       &c.VerdictWindow,
		advice.WatchUptime:  &c.VerdictWatchUptime,
		advice.CloseUptime:  &c.VerdictCloseUptime,
		advice.WatchFlaps:   &c.VerdictWatchFlaps,
		advice.CloseFlaps:   &c.VerdictCloseFlaps,
		advice.WatchOutage:  &c.VerdictWatchOutage,
		advice.CloseOutage:  &c.VerdictCloseOutage,
		advice.ExportDir:    &c.ExportDir,
		advice.OfflineAfter: &c.AlertOfflineAfter,
		advice.VerdictAfter: &c.AlertVerdictAfter,
		advice.Webhook:      &c.AlertWebhook,
		advice.Command:      &c.AlertCommand,
	}[name]
}

// resolveAdvice reads the advice options into c.advice.
func (c *Config) resolveAdvice() error {
	vals := make(map[string]string)
	for _, o := range advice.Options() {
		vals[o.Name] = *c.adviceField(o.Name)
	}
	var err error
	c.advice, err = advice.Parse(vals, c.DataDir, func(o advice.Option) string {
		return o.Flag()
	})
	return err
}

// networks are the values of --network.
var networks = []string{"mainnet", "testnet", "testnet4", "signet",
	"regtest", "simnet"}

// resolve checks the values, fills the defaults that follow --network and
// expands "~".
func (c *Config) resolve() error {
	if !slices.Contains(networks, c.Network) {
		return fmt.Errorf("network %q: want one of %s", c.Network,
			strings.Join(networks, ", "))
	}
	switch c.Store {
	case "badger", "memory":
	case "postgres":
		if c.Postgres.DSN == "" {
			return errors.New("store postgres: give the database " +
				"with --postgres.dsn")
		}
	default:
		return fmt.Errorf("store %q: want badger, postgres or memory",
			c.Store)
	}
	if err := checkDebugLevel(c.DebugLevel); err != nil {
		return err
	}
	if err := duration.InRange(time.Duration(c.ReconcileInterval),
		time.Second, duration.MaxReconcile, "never"); err != nil {

		return fmt.Errorf("reconcileinterval: %w", err)
	}
	if c.SyncInterval == 0 {
		return fmt.Errorf("syncinterval 0: want a duration of at " +
			"least 1s")
	}
	if err := duration.InRange(time.Duration(c.SyncInterval),
		time.Second, duration.MaxReconcile, "never"); err != nil {

		return fmt.Errorf("syncinterval: %w", err)
	}
	if err := duration.InRange(time.Duration(c.ClosedRetention),
		time.Second, duration.MaxClosedRetention,
		"forever"); err != nil {

		return fmt.Errorf("closedretention: %w", err)
	}
	if c.Lnd.MacaroonPath == "" {
		c.Lnd.MacaroonPath = filepath.Join("~", ".lnd", "data", "chain",
			"bitcoin", c.Network, "readonly.macaroon")
	}
	if c.DataDir == "" {
		c.DataDir = filepath.Join("~", ".chanfitness-lnd", c.Network)
	}
	if (c.TLS.CertPath == "") != (c.TLS.KeyPath == "") {
		return fmt.Errorf("tls.certpath and tls.keypath go together: " +
			"set both, or neither for a generated certificate")
	}
	for _, p := range []*string{&c.Lnd.TLSCertPath, &c.Lnd.MacaroonPath,
		&c.DataDir, &c.TLS.CertPath, &c.TLS.KeyPath,
		&c.Auth.TokenPath} {

		if *p == "" {
			continue
		}
		v, err := expandPath(*p)
		if err != nil {
			return err
		}
		*p = v
	}
	return c.resolveAdvice()
}

// expandPath replaces a leading "~" with the home directory and cleans
// the path.
func expandPath(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return filepath.Clean(p), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// coreRetention returns --closedretention as core reads it: 0, which keeps
// closed channels forever, is negative there.
func (c *Config) coreRetention() time.Duration {
	if c.ClosedRetention == 0 {
		return -1
	}
	return time.Duration(c.ClosedRetention)
}
