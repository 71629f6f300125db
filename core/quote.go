package core

import (
	"strconv"
	"unicode/utf8"
)

// quoteMax is the longest input, in bytes, that an error quotes whole:
// a peer id (66) or a channel point with a 7-digit index.
const quoteMax = 72

// quoteCut is how much of longer input an error quotes.
const quoteCut = 16

// Quote returns s quoted for an error message. Input of an identifier's
// length is quoted whole; longer input is cut to its first 16 bytes (at
// a character boundary) followed by its length, as in
// "0123456789abcdef"…(1048576 bytes), so that an error never echoes a
// megabyte back.
func Quote(s string) string {
	if len(s) <= quoteMax {
		return strconv.Quote(s)
	}
	n := quoteCut
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "…(" + strconv.Itoa(len(s)) +
		" bytes)"
}
