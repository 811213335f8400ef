module github.com/haproxystats-go/haproxystats

go 1.26.8

require (
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
