package lightningdtest

import (
	"encoding/json"
	"io"
	"sync"
)

// hold is a call held by HoldRPC.
type hold struct {
	reached chan struct{}
	release chan struct{}
}

// HoldRPC makes the next call of an RPC method wait unanswered, as a busy
// or wedged lightningd does, until release is called or the node closes.
// reached is closed when the call starts to wait. The answer, computed
// at release, goes to the connection the call came on, even if the client
// gave up on it.
func (n *Node) HoldRPC(method string) (reached <-chan struct{},
	release func()) {

	h := &hold{reached: make(chan struct{}),
		release: make(chan struct{})}
	n.st.mu.Lock()
	n.st.holds[method] = h
	n.st.mu.Unlock()
	var once sync.Once
	return h.reached, func() { once.Do(func() { close(h.release) }) }
}

// GarbleRPC makes the next call of an RPC method get result, written into
// the reply as it is: text that is not JSON breaks the reply's framing,
// JSON of another shape is a reply the client cannot use.
func (n *Node) GarbleRPC(method, result string) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	n.st.garbled[method] = result
}

// takeFaults returns and forgets the hold and the garbled result set for
// the next call of method (nil and false when none).
func (st *state) takeFaults(method string) (*hold, string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	h := st.holds[method]
	delete(st.holds, method)
	g, ok := st.garbled[method]
	delete(st.garbled, method)
	return h, g, ok
}

// wait holds a call until h is released or the server closes. It reports
// false when the server closed.
func (s *rpcServer) wait(h *hold) bool {
	close(h.reached)
	select {
	case <-h.release:
		return true
	case <-s.quit:
		return false
	}
}

// writeGarbled writes a reply to id whose result is result as it is.
func writeGarbled(w io.Writer, id json.RawMessage, result string) error {
	b := []byte(`{"jsonrpc":"2.0","id":`)
	b = append(b, id...)
	b = append(b, `,"result":`...)
	b = append(b, result...)
	b = append(b, "}\n\n"...)
	_, err := w.Write(b)
	return err
}
