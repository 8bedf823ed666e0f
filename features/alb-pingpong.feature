@sim @alb @pingpong
Feature: Ping-pong behind an ALB
  With ping-pong (the example of the Argo Rollouts ALB page), the rollout does not change the
  selector of the Service that serves the stable version: the new version comes up behind the
  other Service of the pair, takes its share of the traffic at the ALB step by step and, once
  promoted, all of it; then the two Services swap roles. An abort sends all the traffic back to
  the stable side. The AWS Load Balancer Controller reconciles up to 30 seconds late, and with
  target-group verification no client request fails on the way.

  Background:
    Given an AWS account with the AWS Load Balancer Controller
    And the load balancer controller reconciles 1 second to 30 seconds late
    And the controller verifies target groups
    And the ALB ping-pong example's services, rollout and ingress are applied
    And the rollout becomes Healthy within 3 minutes
    And the ALB sends 100% to ping-service and 0% to pong-service within 3 minutes
    And the ALB becomes ready within 3 minutes
    And the rollout's status says ping is stable
    And 100 requests per second flow through the ingress alb-ingress

  @cluster @nightly
  Scenario: a promotion moves all the traffic to pong and the roles swap
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout reaches step 1 within 3 minutes
    And the canary weight is 20
    And the ALB sends 80% to ping-service and 20% to pong-service within 2 minutes
    And the Service pong-service selects revision 2
    And the Service ping-service selects revision 1
    And the rollout becomes Healthy within 5 minutes
    Then the stable revision is 2
    And the rollout's status says pong is stable
    And the ALB sends 0% to ping-service and 100% to pong-service within 2 minutes
    And the Service pong-service selects revision 2
    And 4 pods run revision 2
    And no pods run revision 1 within 3 minutes
    And no request failed

  @cluster @nightly
  Scenario: an abort sends the traffic back to ping, the stable side
    When I update the rollout to image argoproj/rollouts-demo:red
    Then the rollout reaches step 1 within 3 minutes
    And the ALB sends 80% to ping-service and 20% to pong-service within 2 minutes
    When I abort the rollout
    Then the rollout becomes Degraded with message "RolloutAborted" within 1 minute
    And the ALB sends 100% to ping-service and 0% to pong-service within 2 minutes
    And the rollout's status says ping is stable
    And the stable revision is 1
    And 4 pods run revision 1
    And no pods run revision 2 within 1 minute
    When 1 minute passes
    Then no request failed

  Scenario: after a promotion, an abort sends the traffic back to pong
    When I update the rollout to image argoproj/rollouts-demo:yellow
    And the rollout reaches step 1 within 3 minutes
    And the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And the ALB sends 0% to ping-service and 100% to pong-service within 2 minutes
    And no pods run revision 1 within 3 minutes
    When I update the rollout to image argoproj/rollouts-demo:red
    Then the rollout reaches step 1 within 3 minutes
    And the ALB sends 20% to ping-service and 80% to pong-service within 2 minutes
    When I abort the rollout
    Then the rollout becomes Degraded with message "RolloutAborted" within 1 minute
    And the ALB sends 0% to ping-service and 100% to pong-service within 2 minutes
    And the rollout's status says pong is stable
    And the stable revision is 2
    And no pods run revision 3 within 1 minute
    When 1 minute passes
    Then no request failed
