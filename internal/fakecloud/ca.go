package fakecloud

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// processCA is the one certificate authority of this process. Go reads the system root pool
// (and SSL_CERT_FILE) only once per process, so every Server must chain to the same CA for a test
// that points SSL_CERT_FILE at it.
var processCA struct {
	once    sync.Once
	mu      sync.Mutex
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	dir     string
	file    string
	err     error
}

// ProcessCA returns this process's fake-cloud CA certificate (PEM) and the path of a file holding
// it. The CA (ECDSA P-256) is made once per process and signs the TLS certificates of every
// Server; point SSL_CERT_FILE at certFile (before the first TLS connection of the process) to make
// Go clients, azidentity and Terraform providers trust the fake.
func ProcessCA() (certPEM []byte, certFile string, err error) {
	processCA.once.Do(func() {
		processCA.err = makeProcessCA()
	})
	processCA.mu.Lock()
	defer processCA.mu.Unlock()
	if processCA.err != nil {
		return nil, "", processCA.err
	}
	return append([]byte(nil), processCA.certPEM...), processCA.file, nil
}

// CleanupProcessCA removes the temporary directory that holds the CA file. Call it only when the
// process is about to exit (cmd/fakecloud does on SIGTERM): later Servers of the same process would
// still use the CA but its file would be gone.
func CleanupProcessCA() error {
	processCA.mu.Lock()
	defer processCA.mu.Unlock()
	if processCA.dir == "" {
		return nil
	}
	err := os.RemoveAll(processCA.dir)
	processCA.dir = ""
	return err
}

func makeProcessCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("fakecloud CA: generating key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "fakecloud local test CA", Organization: []string{"fakecloud"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("fakecloud CA: creating certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("fakecloud CA: parsing certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	dir, err := os.MkdirTemp("", "fakecloud-ca-")
	if err != nil {
		return fmt.Errorf("fakecloud CA: %w", err)
	}
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, certPEM, 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("fakecloud CA: %w", err)
	}
	processCA.mu.Lock()
	defer processCA.mu.Unlock()
	processCA.cert, processCA.key, processCA.certPEM = cert, key, certPEM
	processCA.dir, processCA.file = dir, file
	return nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// leafCertificate issues a server certificate for 127.0.0.1, ::1, localhost and the extra hosts,
// signed by the process CA.
func leafCertificate(extraHosts ...string) (tls.Certificate, error) {
	if _, _, err := ProcessCA(); err != nil {
		return tls.Certificate{}, err
	}
	processCA.mu.Lock()
	caCert, caKey := processCA.cert, processCA.key
	processCA.mu.Unlock()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fakecloud leaf: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"fakecloud"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	for _, h := range extraHosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() && !ip.IsLoopback() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("fakecloud leaf: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, caCert.Raw}, PrivateKey: key}, nil
}
