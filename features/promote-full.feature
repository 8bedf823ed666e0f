@sim @cluster
Feature: Promote a rollout fully
  `kubectl argo rollouts promote --full` skips the remaining steps and their pauses: the new
  version goes to 100% as fast as its pods can start, instead of waiting out the timed pauses.

  Background:
    Given the basic canary guide's rollout and service are applied
    And the rollout becomes Healthy within 2 minutes

  Scenario: a full promotion skips the timed pauses
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 20
    When I fully promote the rollout
    # The three 10-second pauses alone would take 30 seconds.
    Then the rollout becomes Healthy within 15 seconds
    And the rollout is at step 8 of 8
    And the stable revision is 2
    And 5 of 5 pods run the new version
    And the events for the rollout include "Full promotion requested"
