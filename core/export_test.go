package core

// KnownPeers returns the number of peers the monitor holds in memory,
// tracked or not.
func (m *Monitor) KnownPeers() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.peers)
}

// ForgetQueue returns the number of entries in the queue of peers to
// forget.
func (m *Monitor) ForgetQueue() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.forget)
}
