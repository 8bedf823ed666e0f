package fakeaws

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client calls fake-aws's debug API (see apiHandler): what a test asks of the cloud.
type Client struct {
	URL string // fake-aws's API listener, "http://127.0.0.1:4566"
}

// ALB is what the load balancers of a namespace's Ingresses do now (all of them when ns is "").
func (c Client) ALB(ns string) (ALBState, error) {
	var st ALBState
	q := ""
	if ns != "" {
		q = "?namespace=" + url.QueryEscape(ns)
	}
	return st, c.call(http.MethodGet, "/debug/alb"+q, &st)
}

// StartTraffic has clients send rate requests a second through the load balancer of an Ingress
// ("namespace/name"), replacing those before and resetting the counts; rate 0 stops them.
func (c Client) StartTraffic(ingress string, rate float64) error {
	q := url.Values{"ingress": {ingress}, "rate": {strconv.FormatFloat(rate, 'f', -1, 64)}}
	return c.call(http.MethodPost, "/debug/traffic?"+q.Encode(), nil)
}

// StopTraffic stops the clients, keeping the counts.
func (c Client) StopTraffic() error { return c.call(http.MethodDelete, "/debug/traffic", nil) }

// Traffic counts the requests sent since the clients started.
func (c Client) Traffic() (TrafficStats, error) {
	var st TrafficStats
	return st, c.call(http.MethodGet, "/debug/traffic", &st)
}

// SetLBCDown stops (true) or restarts the AWS Load Balancer Controller.
func (c Client) SetLBCDown(down bool) (LBCState, error) {
	var st LBCState
	return st, c.call(http.MethodPost, "/debug/lbc?down="+strconv.FormatBool(down), &st)
}

// call sends a request and decodes the JSON answer into out (when not nil).
func (c Client) call(method, path string, out any) error {
	req, err := http.NewRequest(method, strings.TrimSuffix(c.URL, "/")+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}
