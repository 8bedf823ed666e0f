package elbv2

import (
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// maxTagResources is how many ARNs one tag call takes (Argo batches DescribeTags by 20).
const maxTagResources = 20

func (f *Fake) checkResources(arns []string) error {
	if len(arns) == 0 {
		return invalid("ResourceArns must not be empty")
	}
	if len(arns) > maxTagResources {
		return invalid("1 validation error detected: Value at 'resourceArns' failed to satisfy constraint: "+
			"Member must have length less than or equal to %d", maxTagResources)
	}
	for _, arn := range arns {
		if !f.exists(arn) {
			return errNotFound(arn)
		}
	}
	return nil
}

func (f *Fake) describeTags(in *elbv2.DescribeTagsInput) (*elbv2.DescribeTagsOutput, error) {
	if err := f.checkResources(in.ResourceArns); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTagsOutput{TagDescriptions: []types.TagDescription{}}
	for _, arn := range in.ResourceArns {
		out.TagDescriptions = append(out.TagDescriptions, types.TagDescription{ResourceArn: ptr(arn), Tags: f.tagsOf(arn)})
	}
	return out, nil
}

func (f *Fake) addTags(in *elbv2.AddTagsInput) (*elbv2.AddTagsOutput, error) {
	if err := f.checkResources(in.ResourceArns); err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, invalid("Tags must not be empty")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	for _, arn := range in.ResourceArns {
		n := len(f.tags[arn])
		for _, t := range in.Tags {
			if _, ok := f.tags[arn][*t.Key]; !ok {
				n++
			}
		}
		if n > 50 {
			return nil, &types.TooManyTagsException{Message: msg("Resource '%s' would have more than 50 tags", arn)}
		}
	}
	for _, arn := range in.ResourceArns {
		f.setTags(arn, in.Tags)
	}
	return &elbv2.AddTagsOutput{}, nil
}

func (f *Fake) removeTags(in *elbv2.RemoveTagsInput) (*elbv2.RemoveTagsOutput, error) {
	if err := f.checkResources(in.ResourceArns); err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, invalid("TagKeys must not be empty")
	}
	for _, arn := range in.ResourceArns {
		for _, k := range in.TagKeys {
			delete(f.tags[arn], k)
		}
	}
	return &elbv2.RemoveTagsOutput{}, nil
}
