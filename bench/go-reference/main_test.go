package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var paths = []string{"/v1/campaigns", "/v1/campaigns/42", "/v1/healthcheck"}

// benchmark drives ServeHTTP in-process, the counterpart of Rust's ready().call() loop.
func benchmark(b *testing.B, h http.Handler) {
	reqs := make([]*http.Request, len(paths))
	for i, p := range paths {
		reqs[i] = httptest.NewRequest("GET", p, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, reqs[i%len(reqs)])
	}
}

func BenchmarkBare(b *testing.B)         { benchmark(b, handler("bare")) }
func BenchmarkInstrumented(b *testing.B) { benchmark(b, handler("instrumented")) }

// BenchmarkRender1000 renders /metrics after 1,000 (method, path, status) label sets.
func BenchmarkRender1000(b *testing.B) {
	reg := prometheus.NewRegistry()
	m := newSeedMetrics(reg, "reviewmaps")
	for i := 0; i < 1000; i++ {
		path := fmt.Sprintf("/v1/route%d", i/5)
		status := fmt.Sprintf("%d", 200+i%5)
		m.requests.WithLabelValues("GET", path, status).Inc()
		m.duration.WithLabelValues("GET", path).Observe(0.01)
		m.requestSize.WithLabelValues("GET", path).Observe(0)
		m.responseSize.WithLabelValues("GET", path).Observe(512)
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		io.Copy(io.Discard, w.Body)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b.ReportMetric(float64(strings.Count(w.Body.String(), "\n")), "lines")
}
