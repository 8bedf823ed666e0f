@sim @alb @cluster
Feature: The ALB getting-started guide
  As someone following the Argo Rollouts guide "Getting Started - AWS Load Balancer Controller",
  I deploy the demo Rollout, its three Services and the Ingress in an AWS account, update it to
  yellow and see it pause with 5% of the traffic on the canary: in the Ingress annotation the
  rollout writes, and in the rules the ALB really applies. I promote it and all traffic moves to
  yellow. Clients call the site the whole time, 100 requests a second, and none of their
  requests fails.

  Background:
    Given an AWS account with the AWS Load Balancer Controller
    And the controller verifies target groups

  Scenario: deploy, update to yellow, pause at 5% and promote with no request failed
    # 1. Deploying a Rollout: one pod; the Ingress gets its ALB, all traffic to the stable Service.
    Given the ALB guide's rollout, services and ingress are applied
    Then the rollout becomes Healthy within 2 minutes
    And 1 pod runs revision 1
    And the stable revision is 1
    And the ALB sends 100% to rollouts-demo-stable within 3 minutes
    And the ALB becomes ready within 3 minutes
    When 100 requests per second flow through the ingress rollouts-demo-ingress

    # 2. Updating a Rollout: the canary gets 5% at the ALB, then the rollout pauses.
    And I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 3 minutes
    And the rollout is paused at step 1 with canary weight 5
    And the rollout's message contains "CanaryPauseStep"
    And 1 of 2 pods run the new version
    And the annotation alb.ingress.kubernetes.io/actions.rollouts-demo-root of ingress rollouts-demo-ingress forwards 5% to rollouts-demo-canary and 95% to rollouts-demo-stable
    And the ALB sends 5% to rollouts-demo-canary and 95% to rollouts-demo-stable within 1 minute
    When 2 minutes pass
    Then the ALB sends 5% to rollouts-demo-canary and 95% to rollouts-demo-stable
    And requests were answered by argoproj/rollouts-demo:yellow
    And no request failed

    # 3. Promoting a Rollout: the canary takes all the traffic and becomes stable.
    When I promote the rollout
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And the ALB sends 100% to rollouts-demo-stable within 1 minute
    And the annotation alb.ingress.kubernetes.io/actions.rollouts-demo-root of ingress rollouts-demo-ingress forwards 0% to rollouts-demo-canary and 100% to rollouts-demo-stable
    And the Service rollouts-demo-stable selects revision 2
    When 1 minute passes
    Then 1 pod runs revision 2
    And no pods run revision 1
    And the ALB is ready
    And no request failed
