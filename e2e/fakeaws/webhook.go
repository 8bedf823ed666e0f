package fakeaws

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rolloutlab/rolloutlab/fakes/kube"
)

// WebhookPath is where the readiness-gate webhook answers, as the LBC's mpod webhook.
const WebhookPath = "/mutate-v1-pod"

// startWebhook serves the LBC's pod mutating webhook over TLS on addr, with a certificate made
// for the occasion, and registers it with the API server. It returns the server and its URL.
func (b *bridge) startWebhook(ctx context.Context, addr string) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	ip := ln.Addr().(*net.TCPAddr).IP
	caPEM, cert, err := selfSigned(ip)
	if err != nil {
		ln.Close()
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+WebhookPath, b.serveAdmission)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	url := "https://" + ln.Addr().String() + WebhookPath
	if err := b.registerWebhook(ctx, url, caPEM); err != nil {
		_ = srv.Close()
		return nil, "", err
	}
	return srv, url, nil
}

// selfSigned makes a CA and a serving certificate it signs for ip; it returns the CA in PEM
// (the webhook's caBundle) and the serving certificate.
func selfSigned(ip net.IP) ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rolloutlab fake-aws CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(crand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: ip.String()},
		IPAddresses: []net.IP{ip}, DNSNames: []string{"localhost"}, NotBefore: ca.NotBefore, NotAfter: ca.NotAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(crand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// registerWebhook creates (or takes over, after a crash) the MutatingWebhookConfiguration
// that sends pod creations to the webhook. It fails open, as the LBC's does.
func (b *bridge) registerWebhook(ctx context.Context, url string, caPEM []byte) error {
	cfg := &admissionregv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: WebhookConfigName},
		Webhooks: []admissionregv1.MutatingWebhook{{
			Name:         "mpod.elbv2.k8s.aws",
			ClientConfig: admissionregv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			Rules: []admissionregv1.RuleWithOperations{{
				Operations: []admissionregv1.OperationType{admissionregv1.Create},
				Rule:       admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			FailurePolicy:           ptr.To(admissionregv1.Ignore),
			SideEffects:             ptr.To(admissionregv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](5),
		}},
	}
	api := b.kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	_, err := api.Create(ctx, cfg, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		cur, err := api.Get(ctx, cfg.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cfg.ResourceVersion = cur.ResourceVersion
		_, err = api.Update(ctx, cfg, metav1.UpdateOptions{})
		return err
	}
	return err
}

func (b *bridge) unregisterWebhook(ctx context.Context) error {
	err := b.kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, WebhookConfigName, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// serveAdmission answers an AdmissionReview: a pod being created gets the LBC's readiness
// gates as a JSONPatch. It always allows the pod.
func (b *bridge) serveAdmission(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "want an admission.k8s.io/v1 AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	patch, err := b.gatePatch(review.Request)
	if err != nil {
		b.opts.Logf("webhook: %v", err) // fail open, as failurePolicy Ignore would
	}
	if patch != nil {
		resp.Patch, resp.PatchType = patch, ptr.To(admissionv1.PatchTypeJSONPatch)
	}
	out := admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// gatePatch runs the LBC's admission on a pod being created and returns the JSONPatch that
// sets the gates it added (nil when none).
func (b *bridge) gatePatch(req *admissionv1.AdmissionRequest) ([]byte, error) {
	if req.Operation != admissionv1.Create || req.Resource.Resource != "pods" || req.SubResource != "" {
		return nil, nil
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return nil, fmt.Errorf("decoding pod: %w", err)
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace // not set yet on creation
	}
	before := len(pod.Spec.ReadinessGates)
	var err error
	b.do(func() { err = b.lbc.Admission()("create", kube.Pods, &pod) })
	if err != nil || len(pod.Spec.ReadinessGates) == before {
		return nil, err
	}
	// "add" replaces the member when it exists (RFC 6902), so one operation covers both.
	return json.Marshal([]map[string]any{{"op": "add", "path": "/spec/readinessGates", "value": pod.Spec.ReadinessGates}})
}
