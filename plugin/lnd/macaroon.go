package lndsource

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lightningnetwork/lnd/lnrpc"
	"google.golang.org/protobuf/proto"
	"gopkg.in/macaroon.v2"
)

// BakeCommand is the lncli line that bakes the macaroon the companion
// uses, and nothing more: the three permissions it needs and onchain:read,
// which lets it read the open time of a channel older than itself from
// the channel's funding block (without it, that time is estimated).
const BakeCommand = "lncli bakemacaroon info:read offchain:read peers:read " +
	"onchain:read --save_to chanfitness.macaroon"

// macaroonIDVersion is the first byte of an lnd macaroon id (the bakery's
// version 3); a protobuf lnrpc.MacaroonId follows it.
const macaroonIDVersion = 3

// uriEntity is the entity of a permission scoped to one RPC method.
const uriEntity = "uri"

// rpcMethod is an lnd RPC the companion calls, with the permission it
// needs.
type rpcMethod struct {
	name       string
	uri        string
	permission string
}

// methods are the RPCs the companion calls, in the order it calls them.
var methods = []rpcMethod{
	{"GetInfo", "/lnrpc.Lightning/GetInfo", "info:read"},
	{"SubscribeChannelEvents", "/lnrpc.Lightning/SubscribeChannelEvents",
		"offchain:read"},
	{"SubscribePeerEvents", "/lnrpc.Lightning/SubscribePeerEvents",
		"peers:read"},
	{"ListChannels", "/lnrpc.Lightning/ListChannels", "offchain:read"},
	{"ListPeers", "/lnrpc.Lightning/ListPeers", "peers:read"},
	{"ClosedChannels", "/lnrpc.Lightning/ClosedChannels",
		"offchain:read"},
}

// blockMethods are the optional RPCs that read a funding block's time,
// with the permission they need.
var blockMethods = []rpcMethod{
	{"GetBlockHash", "/chainrpc.ChainKit/GetBlockHash", "onchain:read"},
	{"GetBlockHeader", "/chainrpc.ChainKit/GetBlockHeader",
		"onchain:read"},
}

// permissionOf returns the permission an RPC method needs.
func permissionOf(method string) string {
	for _, m := range append(methods, blockMethods...) {
		if m.name == method {
			return m.permission
		}
	}
	return ""
}

// Permissions is what a macaroon grants, as lnd encodes it in the
// macaroon's id.
type Permissions struct {
	// Ops are the granted "entity:action" pairs, sorted. Method-scoped
	// grants read "uri:/lnrpc.Lightning/GetInfo".
	Ops []string
}

// Missing returns the permissions the companion needs that p lacks,
// sorted. A method-scoped grant satisfies the need of its method.
func (p Permissions) Missing() []string {
	have := make(map[string]bool, len(p.Ops))
	for _, op := range p.Ops {
		have[op] = true
	}
	seen := make(map[string]bool)
	var missing []string
	for _, m := range methods {
		if have[m.permission] || have[uriEntity+":"+m.uri] ||
			seen[m.permission] {

			continue
		}
		seen[m.permission] = true
		missing = append(missing, m.permission)
	}
	sort.Strings(missing)
	return missing
}

// CanReadBlocks reports whether p grants the optional onchain:read (or
// both ChainKit methods the companion calls), with which the open time of
// a channel older than the companion is read from its funding block
// instead of estimated.
func (p Permissions) CanReadBlocks() bool {
	have := make(map[string]bool, len(p.Ops))
	for _, op := range p.Ops {
		have[op] = true
	}
	for _, m := range blockMethods {
		if !have[m.permission] && !have[uriEntity+":"+m.uri] {
			return false
		}
	}
	return true
}

// Extra returns the granted permissions the companion does not use.
func (p Permissions) Extra() []string {
	need := make(map[string]bool)
	for _, m := range append(methods, blockMethods...) {
		need[m.permission] = true
		need[uriEntity+":"+m.uri] = true
	}
	var extra []string
	for _, op := range p.Ops {
		if !need[op] {
			extra = append(extra, op)
		}
	}
	return extra
}

// Writes returns the granted permissions that change something ("write"
// or "generate" actions): their presence marks an admin macaroon.
func (p Permissions) Writes() []string {
	var w []string
	for _, op := range p.Ops {
		i := strings.IndexByte(op, ':')
		if i < 0 || op[:i] == uriEntity {
			continue
		}
		if act := op[i+1:]; act == "write" || act == "generate" {
			w = append(w, op)
		}
	}
	return w
}

// Check returns an error wrapping ErrPermission when p lacks a permission
// the companion needs, naming it and the lncli line that fixes it.
func (p Permissions) Check(path string) error {
	missing := p.Missing()
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: macaroon %s lacks %s; bake one with: %s",
		ErrPermission, path, strings.Join(missing, ", "), BakeCommand)
}

// LoadMacaroon reads an lnd macaroon file.
func LoadMacaroon(path string) (*macaroon.Macaroon, error) {
	b, err := readFileCapped(path)
	if err != nil {
		return nil, fmt.Errorf("read macaroon: %w", err)
	}
	mac := &macaroon.Macaroon{}
	if err := mac.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: macaroon %s: %v", ErrBadMacaroon,
			path, err)
	}
	return mac, nil
}

// MacaroonPermissions decodes what an lnd macaroon grants from its id.
func MacaroonPermissions(mac *macaroon.Macaroon) (Permissions, error) {
	id := mac.Id()
	if len(id) < 2 || id[0] != macaroonIDVersion {
		return Permissions{}, fmt.Errorf("%w: macaroon id %x is not "+
			"an lnd macaroon id", ErrBadMacaroon, id)
	}
	var decoded lnrpc.MacaroonId
	if err := proto.Unmarshal(id[1:], &decoded); err != nil {
		return Permissions{}, fmt.Errorf("%w: macaroon id: %v",
			ErrBadMacaroon, err)
	}
	var p Permissions
	for _, op := range decoded.GetOps() {
		for _, act := range op.GetActions() {
			p.Ops = append(p.Ops, op.GetEntity()+":"+act)
		}
	}
	sort.Strings(p.Ops)
	return p, nil
}
