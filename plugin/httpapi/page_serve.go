package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"html"
	"net/http"
	"strconv"
	"strings"

	"github.com/chanfitness/chanfitness/core"
)

// isPage reports whether path is one of the pages (for which a browser
// asks for the token as a password).
func isPage(path string) bool {
	return path == PathPage || strings.HasPrefix(path, PathPeerPage)
}

// servePage answers GET / with the page of every peer.
func servePage(w http.ResponseWriter, r *http.Request, m Monitor) {
	q, err := parsePageQuery(r.URL.RawQuery)
	if err != nil {
		writeErrorPage(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := m.Report(ctx, core.ReportQuery{Window: q.window,
		PeersOnly: true})
	if err != nil {
		writeErrorPage(w, statusOf(err), err)
		return
	}
	tl, err := m.Timeline(ctx, core.TimelineQuery{Window: q.window,
		MaxSegments: PageSegments})
	if err != nil {
		writeErrorPage(w, statusOf(err), err)
		return
	}
	writePage(w, r, renderPage(rep, tl, q.opts))
}

// writePage writes a page, gzipped when the client takes gzip (a
// browser does): a page of thousands of peers shrinks tenfold, which
// counts over Tor.
func writePage(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		writeHTML(w, http.StatusOK, body)
		return
	}
	z := bytes.NewBuffer(make([]byte, 0, len(body)/4))
	zw, _ := gzip.NewWriterLevel(z, gzip.BestSpeed)
	_, _ = zw.Write(body)
	_ = zw.Close()
	w.Header().Set("Content-Encoding", "gzip")
	writeHTML(w, http.StatusOK, z.Bytes())
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip (and
// does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		return err == nil && v > 0
	}
	return false
}

// writeHTML writes an HTML answer that may load nothing from elsewhere.
func writeHTML(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeErrorPage answers a page request with err's message, the same as
// the JSON API's.
func writeErrorPage(w http.ResponseWriter, code int, err error) {
	var b bytes.Buffer
	b.WriteString(pageHead)
	b.WriteString("<title>chanfitness: error</title>" + pageStyle +
		"</head><body><h1>")
	b.WriteString(strconv.Itoa(code) + " " + http.StatusText(code))
	b.WriteString("</h1><p id=error>")
	b.WriteString(html.EscapeString(err.Error()))
	b.WriteString("</p></body></html>\n")
	writeHTML(w, code, b.Bytes())
}
