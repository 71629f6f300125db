// Package cln is the chanfitness plugin for Core Lightning.
//
// # How it runs
//
// lightningd starts the plugin with JSON-RPC on its stdin and stdout. The
// plugin reads stdin itself, in order, splitting lightningd's "\n\n"
// framing and stamping every message with the time it arrived. One
// goroutine, the dispatcher, takes the messages in that order:
//
//   - connect, disconnect, channel_opened, channel_state_changed and
//     shutdown are parsed tolerantly (the wrapped and the raw forms of
//     each CLN version, omitted and null members) and applied to the
//     core monitor at once, so the monitor sees them in arrival order;
//   - every request (getmanifest, init, the chanfitness method) goes on
//     to glightning through a pipe (see bridge). Since the dispatcher
//     forwards a chanfitness call only after applying every notification
//     that came before it, the report reflects them.
//
// glightning declares the options and the method, parses the option
// values in init and runs the method. Its replies come back through a
// second pipe and reach stdout through the plugin's single writer, which
// emits only complete JSON-RPC objects. Descriptor 1 itself is pointed at
// stderr, so a library that prints cannot corrupt the stream.
//
// In init the plugin opens the store, starts the monitor and syncs it
// with a snapshot of the node (listpeerchannels, listpeers), for a node
// starting up and a dynamic "plugin start" alike. Every reconcile interval
// it takes a new snapshot and syncs again, so a missed transition is
// repaired. Notifications carry a channel id but no funding outpoint; the
// plugin looks the outpoint up (listpeerchannels, then listclosedchannels)
// and keeps it: a splice changes the outpoint but not the channel.
//
// On shutdown or when stdin closes, the monitor writes its last heartbeat,
// the store is synced and closed, and the process exits.
package cln
