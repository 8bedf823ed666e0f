@sim @cluster @nightly
Feature: Pause, resume and undo
  `kubectl argo rollouts pause` holds a rollout where it is, even in the middle of a timed
  pause, until `resume`. `undo` re-applies an earlier revision's pod template: without a
  rollback window that is an ordinary update, run through every step, but it reuses the old
  ReplicaSet instead of creating one.

  Background:
    Given the basic canary guide's rollout and service are applied
    And the rollout becomes Healthy within 2 minutes
    And I update the rollout to image argoproj/rollouts-demo:yellow
    And the rollout becomes Paused within 2 minutes

  Scenario: a manual pause holds a timed pause until resumed
    When I promote the rollout
    And the rollout reaches step 3 within 1 minute
    And I pause the rollout
    Then the rollout becomes Paused within 10 seconds
    And the rollout's message contains "manually paused"
    When 1 minute passes
    Then the rollout is Paused
    And the rollout is at step 3
    When I resume the rollout
    Then the rollout becomes Healthy within 2 minutes
    And the stable revision is 2

  Scenario: undo goes back through the steps on the old ReplicaSet
    When I promote the rollout
    Then the rollout becomes Healthy within 5 minutes
    When I undo the rollout
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 20
    And 1 of 5 pods run the new version
    And no new ReplicaSet was created
    When I promote the rollout
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 3
    And 5 pods run revision 3
    When I undo the rollout to revision 2
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 20
    And no new ReplicaSet was created
