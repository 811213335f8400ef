package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// ClientTLS is the TLS configuration of a client from the options of
// section that [kafka] and [pull] share: tls-ca-file (the system's roots
// when empty), tls-cert-file and tls-key-file (a client certificate),
// tls-insecure-skip-verify. The error names the section and the file.
func ClientTLS(section, caFile, certFile, keyFile string, skipVerify bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("[%s] tls-ca-file: %w", section, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("[%s] tls-ca-file %s: no PEM certificate in it", section, caFile)
		}
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("[%s] tls-cert-file %s, tls-key-file %s: %w", section, certFile, keyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
