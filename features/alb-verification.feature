@sim @alb @bluegreen
Feature: Blue-green behind an ALB, with and without target-group verification
  The hazard the Argo Rollouts ALB page describes, in five steps: the new stack comes up behind
  the preview Service; the AWS Load Balancer Controller is down (or throttled) when the promotion
  comes; the active Service switches to the new pods, but the ALB's target group still lists the
  old pods' IPs, because only the LBC registers targets; and once the old stack is scaled down,
  every request gets a 502 until the LBC is back. With --aws-verify-target-group the rollout
  controller sees that the target group does not hold the new pods yet and keeps the old stack
  until it does: no request fails.

  Background:
    Given an AWS account with the AWS Load Balancer Controller

  @cluster @nightly
  Scenario: with verification, the promotion waits for the LBC and no request fails
    Given the controller verifies target groups
    And the ALB blue-green example's services, rollout and ingress are applied
    And the rollout becomes Healthy within 2 minutes
    And the ALB sends 100% to bluegreen-demo-active within 3 minutes
    And the ALB becomes ready within 3 minutes
    And 100 requests per second flow through the ingress bluegreen-demo
    # 1-2. The new stack comes up behind the preview Service.
    When I update the rollout to image argoproj/rollouts-demo:green
    Then the rollout becomes Paused with message "BlueGreenPause" within 2 minutes
    And 3 pods run revision 2
    # 3-4. The LBC is down when the promotion comes: the active Service selects the new pods,
    # but the target group still holds the old ones, so the rollout waits, keeping the old stack.
    When the load balancer controller is down for 3 minutes
    And I promote the rollout
    Then the rollout becomes Progressing with message "waiting for post-promotion verification" within 30 seconds
    When 1 minute passes
    Then the rollout is Progressing with message "waiting for post-promotion verification"
    And the stable revision is 1
    And the Service bluegreen-demo-active selects revision 2
    And 3 pods run revision 1
    And 3 pods run revision 2
    And no request failed
    # 5. The LBC is back and registers the new pods: only then does the rollout complete and,
    # after scaleDownDelaySeconds, scale the old stack down.
    Then the rollout becomes Healthy within 4 minutes
    And the stable revision is 2
    And no pods run revision 1 within 1 minute
    And 3 pods run revision 2
    When 1 minute passes
    Then the ALB is ready
    And requests were answered by argoproj/rollouts-demo:green
    And no request failed

  Scenario: without verification, the old stack goes while the target group still lists it: 502s
    Given the controller does not verify target groups
    And the ALB blue-green example's services, rollout and ingress are applied
    And the rollout becomes Healthy within 2 minutes
    And the ALB sends 100% to bluegreen-demo-active within 3 minutes
    And the ALB becomes ready within 3 minutes
    And 100 requests per second flow through the ingress bluegreen-demo
    When I update the rollout to image argoproj/rollouts-demo:green
    Then the rollout becomes Paused with message "BlueGreenPause" within 2 minutes
    When the load balancer controller is down for 3 minutes
    And I promote the rollout
    # Nothing holds the promotion: the old stack is scaled down after scaleDownDelaySeconds.
    Then the rollout becomes Healthy within 1 minute
    And the stable revision is 2
    And no pods run revision 1 within 1 minute
    When 30 seconds pass
    Then the ALB is not ready
    And requests failed with 502
    # The LBC comes back after its 3 minutes and registers the new pods: the failures stop.
    When the ALB becomes ready within 3 minutes
    Then requests failed with 502 for at least 2 minutes
    When 1 minute passes
    Then no more requests failed
