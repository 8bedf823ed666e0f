@sim @cluster @nightly
Feature: Retry an aborted update
  `kubectl argo rollouts retry` takes back an abort: the update starts again from its first
  step, so the canary gets its 20% and the rollout waits at the manual pause once more.

  Background:
    Given the basic canary guide's rollout and service are applied
    And the rollout becomes Healthy within 2 minutes

  Scenario: retry after an abort restarts the steps and can then be promoted
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 20
    When I abort the rollout
    Then the rollout becomes Degraded with message "RolloutAborted: Rollout aborted update to revision 2" within 2 minutes
    And 5 pods run revision 1 within 1 minute
    And no pods run revision 2 within 1 minute
    And the rollout is at step 0
    When I retry the rollout
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 20
    And 1 of 5 pods run the new version
    And the stable revision is 1
    And no new ReplicaSet was created
    When I promote the rollout
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And 5 pods run revision 2
    And the rollout is at step 8 of 8
