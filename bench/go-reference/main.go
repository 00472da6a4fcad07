// The same five HTTP metrics in Go, as the anchor redmetrics is measured against: net/http
// with client_golang recording exactly redmetrics' default contract (the same family names,
// histogram buckets and summary objectives), on the same three routes as the Rust benchmarks.
//
// Built offline from Debian packages (golang-go, golang-github-prometheus-client-golang-dev)
// in GOPATH mode: GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-reference .
//
//	go-reference -listen 127.0.0.1:8080 -variant instrumented   # or -variant bare
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type seedMetrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	active       prometheus.Gauge
	requestSize  *prometheus.SummaryVec
	responseSize *prometheus.SummaryVec
}

var objectives = map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}

func newSeedMetrics(reg prometheus.Registerer, prefix string) *seedMetrics {
	m := &seedMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "_http_requests_total", Help: "Total number of HTTP requests",
		}, []string{"method", "path", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: prefix + "_http_request_duration_seconds", Help: "HTTP request latency",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "path"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: prefix + "_http_active_connections", Help: "Requests in flight",
		}),
		requestSize: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: prefix + "_http_request_size_bytes", Help: "Request size",
			Objectives: objectives, MaxAge: 10 * time.Minute,
		}, []string{"method", "path"}),
		responseSize: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: prefix + "_http_response_size_bytes", Help: "Response size",
			Objectives: objectives, MaxAge: 10 * time.Minute,
		}, []string{"method", "path"}),
	}
	reg.MustRegister(m.requests, m.duration, m.active, m.requestSize, m.responseSize)
	return m
}

// recorder captures the status and the bytes written.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// route maps a request path to its template, as a router would.
func route(path string) string {
	switch {
	case path == "/v1/campaigns":
		return "/v1/campaigns"
	case strings.HasPrefix(path, "/v1/campaigns/"):
		return "/v1/campaigns/{id}"
	case path == "/v1/healthcheck":
		return "/v1/healthcheck"
	}
	return "unmatched"
}

func (m *seedMetrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		m.active.Inc()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, req)
		path := route(req.URL.Path)
		m.requests.WithLabelValues(req.Method, path, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(req.Method, path).Observe(time.Since(start).Seconds())
		size := req.ContentLength
		if size < 0 {
			size = 0
		}
		m.requestSize.WithLabelValues(req.Method, path).Observe(float64(size))
		m.responseSize.WithLabelValues(req.Method, path).Observe(float64(rec.bytes))
		m.active.Dec()
	})
}

// api is the same three routes the Rust benchmarks serve.
func api() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/campaigns", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("[]")) })
	mux.HandleFunc("/v1/campaigns/", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("{}")) })
	mux.HandleFunc("/v1/healthcheck", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	return mux
}

// handler builds the bare or instrumented server.
func handler(variant string) http.Handler {
	if variant == "bare" {
		return api()
	}
	reg := prometheus.NewRegistry()
	m := newSeedMetrics(reg, "reviewmaps")
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/", m.middleware(api()))
	return mux
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	variant := flag.String("variant", "instrumented", "bare or instrumented")
	flag.Parse()
	log.Printf("go-reference (%s) on http://%s", *variant, *listen)
	log.Fatal(http.ListenAndServe(*listen, handler(*variant)))
}
