package main

import (
	"context"
	"fmt"
	"os"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// defaultEndpointRegion is the region signed for when --aws-endpoint points at a fake and no
// region is configured.
const defaultEndpointRegion = "us-east-1"

// newELBv2 is the ELBv2 client target-group verification reads AWS with. Credentials and region
// come from the AWS SDK's default chain (environment, shared files, IRSA web identity, instance
// role), as in Argo; --aws-region overrides the region.
//
// With --aws-endpoint (a fake ELBv2 served over HTTP, fakes/elbv2's Handler), requests go there;
// they are signed only when AWS_ACCESS_KEY_ID is set, so a fake needs no credentials, and the
// region defaults to us-east-1.
func newELBv2(ctx context.Context, region, endpoint string) (*elbv2.Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(awssdk.AnonymousCredentials{}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		if endpoint == "" {
			return nil, fmt.Errorf("--aws-verify-target-group needs an AWS region: set --aws-region or AWS_REGION")
		}
		cfg.Region = defaultEndpointRegion
	}
	return elbv2.NewFromConfig(cfg, func(o *elbv2.Options) {
		if endpoint != "" {
			o.BaseEndpoint = awssdk.String(endpoint)
		}
	}), nil
}
