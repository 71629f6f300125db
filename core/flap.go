package core

import (
	"math"
	"time"
)

// Flap counting and rate limiting, with lnd's constants (docs/semantics.md,
// "Flap count and cooldown" and "Rate limit and the staged event").
const (
	// RateLimitScale is the number of flaps per rate-limit tier.
	RateLimitScale = 200

	// CooldownFactor is how much of the flap count survives one
	// CooldownPeriod without flaps.
	CooldownFactor = 0.95

	// CooldownPeriod is the idle time after which the count cools down.
	CooldownPeriod = 8 * time.Hour
)

// rateLimits are the minimum spacings between committed events, by tier.
var rateLimits = [...]time.Duration{
	time.Second,
	5 * time.Second,
	30 * time.Second,
	time.Minute,
	30 * time.Minute,
	time.Hour,
}

// rateLimit returns the minimum spacing for a flap count.
func rateLimit(flapCount int) time.Duration {
	tier := min(flapCount/RateLimitScale, len(rateLimits)-1)
	return rateLimits[tier]
}

// cooled returns count cooled down from lastFlap to now (unix ns):
// unchanged before CooldownPeriod has passed, otherwise
// floor(count * CooldownFactor^(idle / CooldownPeriod)).
func cooled(now int64, count int, lastFlap int64) int {
	idle := now - lastFlap
	if idle < int64(CooldownPeriod) {
		return count
	}
	periods := float64(idle) / float64(CooldownPeriod)
	return int(float64(count) * math.Pow(CooldownFactor, periods))
}
