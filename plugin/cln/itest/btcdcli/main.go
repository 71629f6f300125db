// Command btcdcli stands in for bitcoin-cli so that Core Lightning's bcli
// plugin can use btcd as its chain in the real-node test. It takes the
// arguments bcli passes (-regtest -datadir=D -rpcconnect=H -rpcport=P
// -rpcuser=U -stdinrpcpass -stdin [-rpcwait -rpcwaittimeout=N] METHOD),
// reads the password and one argument per line from stdin, and answers
// as bitcoin-cli prints: a string result raw, null as nothing, JSON with
// amounts as plain decimals, and an RPC error as "error code: N" and
// "error message:" lines with exit status abs(N). btcd lacks some of
// bitcoind's calls and fields; those are filled in with what a regtest
// node would answer. btcd's TLS certificate is read from D/rpc.cert, or
// from $BTCD_RPCCERT.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// rpcError is a JSON-RPC error from btcd, or one of ours.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string {
	return fmt.Sprintf("error code: %d\nerror message:\n%s", e.Code,
		e.Message)
}

// cli is one invocation.
type cli struct {
	datadir, host, port, user, pass string
	stdin, stdinPass, wait          bool
	waitTimeout                     time.Duration
	method                          string
	args                            []string
	client                          *http.Client
}

func main() {
	out, err := run(os.Args[1:], os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		var re *rpcError
		if errors.As(err, &re) {
			code := re.Code
			if code < 0 {
				code = -code
			}
			os.Exit(code & 0xff)
		}
		os.Exit(1)
	}
	if out != "" {
		fmt.Println(out)
	}
}

func run(argv []string, stdin io.Reader) (string, error) {
	c := &cli{host: "127.0.0.1", port: "18334",
		waitTimeout: 30 * time.Second}
	i := 0
	for ; i < len(argv) && strings.HasPrefix(argv[i], "-"); i++ {
		name, val, _ := strings.Cut(strings.TrimLeft(argv[i], "-"), "=")
		switch name {
		case "datadir":
			c.datadir = val
		case "rpcconnect":
			c.host = val
		case "rpcport":
			c.port = val
		case "rpcuser":
			c.user = val
		case "rpcpassword":
			c.pass = val
		case "stdinrpcpass":
			c.stdinPass = true
		case "stdin":
			c.stdin = true
		case "rpcwait":
			c.wait = true
		case "rpcwaittimeout":
			n, err := strconv.Atoi(val)
			if err != nil {
				return "", fmt.Errorf("error: -rpcwaittimeout=%s",
					val)
			}
			c.waitTimeout = time.Duration(n) * time.Second
		}
	}
	if i == len(argv) {
		return "", errors.New("error: too few parameters")
	}
	c.method, c.args = argv[i], argv[i+1:]
	if c.stdinPass || c.stdin {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		if c.stdinPass && sc.Scan() {
			c.pass = sc.Text()
		}
		for c.stdin && sc.Scan() {
			c.args = append(c.args, sc.Text())
		}
	}
	if err := c.dialer(); err != nil {
		return "", err
	}
	res, err := c.dispatch()
	if err != nil {
		return "", err
	}
	return printed(res)
}

// dialer sets up the TLS client for btcd's certificate.
func (c *cli) dialer() error {
	cert := os.Getenv("BTCD_RPCCERT")
	if cert == "" {
		cert = filepath.Join(c.datadir, "rpc.cert")
	}
	pem, err := os.ReadFile(cert)
	if err != nil {
		return fmt.Errorf("error: btcd certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("error: btcd certificate %s: no PEM", cert)
	}
	c.client = &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return nil
}

// dispatch answers the method, from btcd or in its place.
func (c *cli) dispatch() (json.RawMessage, error) {
	switch c.method {
	case "getnetworkinfo":
		if c.wait {
			if err := c.waitUp(); err != nil {
				return nil, err
			}
		}
		return json.RawMessage(`{"version":250000,` +
			`"subversion":"/btcd-standin/","localrelay":true,` +
			`"warnings":""}`), nil

	case "getblockchaininfo":
		return c.patch("getblockchaininfo", nil,
			map[string]any{"initialblockdownload": false})

	case "estimatesmartfee":
		blocks := 6
		if len(c.args) > 0 {
			if n, err := strconv.Atoi(c.args[0]); err == nil {
				blocks = n
			}
		}
		return json.RawMessage(fmt.Sprintf(`{"feerate":0.00001000,`+
			`"blocks":%d}`, blocks)), nil

	case "getmempoolinfo":
		return c.patch("getmempoolinfo", nil, map[string]any{
			"mempoolminfee": json.Number("0.00001000"),
			"minrelaytxfee": json.Number("0.00001000")})

	case "getpeerinfo":
		return json.RawMessage(`[]`), nil

	case "getblockhash":
		return c.call("getblockhash", c.params("n"))

	case "getblock":
		return c.call("getblock", c.params("s", "n"))

	case "gettxout":
		res, err := c.call("gettxout", c.params("s", "n", "b"))
		if err != nil || isNull(res) {
			return res, err
		}
		return amountsIn(res, "value")

	case "getrawtransaction":
		return c.call("getrawtransaction", c.params("s", "n"))

	case "sendrawtransaction":
		// btcd has no maxfeerate argument.
		return c.call("sendrawtransaction", c.params("s"))
	}
	return c.call(c.method, c.params())
}

// params converts the arguments as bitcoin-cli does for the method: "s"
// a string, "n" a number, "b" a boolean. Arguments beyond kinds are
// dropped; with no kinds given, each goes raw when it is JSON.
func (c *cli) params(kinds ...string) []any {
	p := []any{}
	for i, a := range c.args {
		if len(kinds) > 0 && i >= len(kinds) {
			break
		}
		if len(kinds) > 0 && kinds[i] == "s" {
			p = append(p, a)
			continue
		}
		if json.Valid([]byte(a)) {
			p = append(p, json.RawMessage(a))
		} else {
			p = append(p, a)
		}
	}
	return p
}

// waitUp retries getblockcount until btcd answers or the wait times out.
func (c *cli) waitUp() error {
	deadline := time.Now().Add(c.waitTimeout)
	for {
		_, err := c.call("getblockcount", []any{})
		var re *rpcError
		if err == nil || errors.As(err, &re) {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// patch calls method and sets the given members of its object result.
func (c *cli) patch(method string, params []any,
	set map[string]any) (json.RawMessage, error) {

	if params == nil {
		params = []any{}
	}
	res, err := c.call(method, params)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(res, &obj); err != nil {
		return nil, fmt.Errorf("error: %s: %w", method, err)
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		obj[k] = b
	}
	return json.Marshal(obj)
}

// call sends one JSON-RPC request to btcd.
func (c *cli) call(method string, params []any) (json.RawMessage, error) {
	body, err := json.Marshal(map[string]any{"jsonrpc": "1.0",
		"id": 1, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost,
		"https://"+c.host+":"+c.port, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.user, c.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("error: Could not connect to the "+
			"server %s:%s (%v)", c.host, c.port, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("error: read reply: %w", err)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *rpcError       `json:"error"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("error: %s: HTTP %d: %.200s", method,
			resp.StatusCode, b)
	}
	if r.Error != nil {
		return nil, r.Error
	}
	return r.Result, nil
}

func isNull(res json.RawMessage) bool {
	res = bytes.TrimSpace(res)
	return len(res) == 0 || string(res) == "null"
}

// amountsIn rewrites the named members of an object result as bitcoin
// amounts are printed: a decimal with eight places (CLN reads no other).
func amountsIn(res json.RawMessage, keys ...string) (json.RawMessage,
	error) {

	var obj map[string]json.RawMessage
	if err := json.Unmarshal(res, &obj); err != nil {
		return nil, fmt.Errorf("error: result: %w", err)
	}
	for _, k := range keys {
		v, ok := obj[k]
		if !ok {
			continue
		}
		f, ok := new(big.Float).SetString(string(v))
		if !ok {
			return nil, fmt.Errorf("error: %s %s: not a number", k, v)
		}
		obj[k] = json.RawMessage(f.Text('f', 8))
	}
	return json.Marshal(obj)
}

// printed formats a result as bitcoin-cli prints it.
func printed(res json.RawMessage) (string, error) {
	res = bytes.TrimSpace(res)
	if len(res) == 0 || string(res) == "null" {
		return "", nil
	}
	dec := json.NewDecoder(bytes.NewReader(res))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("error: result: %w", err)
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := json.MarshalIndent(plain(v), "", "  ")
	return string(b), err
}

// plain rewrites numbers in exponent form (1e-05) as plain decimals.
func plain(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = plain(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
	case json.Number:
		if strings.ContainsAny(string(x), "eE") {
			if f, ok := new(big.Float).SetString(string(x)); ok {
				return json.Number(f.Text('f', -1))
			}
		}
	}
	return v
}
