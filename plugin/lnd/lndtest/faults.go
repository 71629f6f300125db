package lndtest

import (
	"context"
	"strings"
	"sync"
)

// takeFailure returns and forgets the error set by FailNext for method.
func (s *Server) takeFailure(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := method[strings.LastIndexByte(method, '/')+1:]
	err := s.failNext[name]
	delete(s.failNext, name)
	return err
}

// hold is a call held by Hold.
type hold struct {
	reached chan struct{}
	release chan struct{}
}

// Hold makes the next call of method (such as "ListChannels") wait, once
// it passed the checks, until release is called. reached is closed when
// the call starts to wait. Only unary calls are held.
func (s *Server) Hold(method string) (reached <-chan struct{},
	release func()) {

	h := &hold{reached: make(chan struct{}),
		release: make(chan struct{})}
	s.mu.Lock()
	s.holds[method] = h
	s.mu.Unlock()
	var once sync.Once
	return h.reached, func() { once.Do(func() { close(h.release) }) }
}

// wait waits while a call of method is held, or until the client goes
// away.
func (s *Server) wait(ctx context.Context, method string) {
	name := method[strings.LastIndexByte(method, '/')+1:]
	s.mu.Lock()
	h := s.holds[name]
	delete(s.holds, name)
	s.mu.Unlock()
	if h == nil {
		return
	}
	close(h.reached)
	select {
	case <-h.release:
	case <-ctx.Done():
	}
}

// FailNext makes the next call of method (such as "ListChannels") fail
// with err.
func (s *Server) FailNext(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[method] = err
}

// SetSilent makes the state changes that follow send no events (true)
// or send them again (false), as lnd does for a subscription it has not
// registered yet.
func (s *Server) SetSilent(silent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = silent
}

// SetLocked locks or unlocks the wallet: while locked every call fails
// as lnd's do.
func (s *Server) SetLocked(locked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.locked = locked
}

// Calls returns how many times method (such as "GetInfo", or
// "GetBlockHeader" of ChainKit) was called, refused calls included.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls["/lnrpc.Lightning/"+method] +
		s.calls["/chainrpc.ChainKit/"+method]
}
