package badgerstore

// Abandon closes s as a kill would leave it: the batches written as
// recent batches stay in the ring, unfolded.
func Abandon(s *Store) error {
	s.mu.Lock()
	s.recent = recent{}
	s.mu.Unlock()
	return s.Close()
}
