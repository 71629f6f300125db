package core

import "sync"

// subscribers are the channels that hear of the monitor's changes.
type subscribers struct {
	mu   sync.Mutex
	next int
	subs map[int]chan struct{}
}

// Subscribe returns a channel that receives a value after the monitor
// changed (an event applied, a snapshot or a loss of the node recorded,
// a heartbeat): changes in quick succession come as one, so a slow
// reader misses none but may see several in one receive. cancel ends
// the subscription.
func (m *Monitor) Subscribe() (changed <-chan struct{}, cancel func()) {
	s := &m.subs
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs == nil {
		s.subs = make(map[int]chan struct{})
	}
	id := s.next
	s.next++
	ch := make(chan struct{}, 1)
	s.subs[id] = ch
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

// notify tells every subscriber that the monitor changed; it never
// blocks.
func (s *subscribers) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
