@chaos @sim
Feature: The controller crashes at any point of the guide
  The controller can die at any moment (an eviction, an OOM kill, a node going away). When it
  comes back it has forgotten everything it held in memory and must carry on from what is
  stored in the cluster alone. Whenever it crashes, the guide ends the same way as if it had not:
  no step is skipped or repeated, no extra ReplicaSet appears, the manual pause still waits for
  me, and an abort still falls back to the stable version.

  Background:
    Given the basic canary guide's rollout and service are applied
    And the rollout becomes Healthy within 2 minutes

  Scenario Outline: a crash when step <k> is reached, before the manual pause
    When I update the rollout to image argoproj/rollouts-demo:yellow
    And the rollout reaches step <k> within 1 minute
    And the controller crashes and restarts after 5 seconds
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 20
    And 1 of 5 pods run the new version
    When I promote the rollout
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And 5 pods run revision 2
    And the rollout is at step 8 of 8
    And the rollout has 2 ReplicaSets

    Examples:
      | k |
      | 0 |
      | 1 |

  @cluster @nightly
  Scenario: a crash while paused at the manual pause
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    When the controller crashes and restarts after 5 seconds
    And 1 minute passes
    Then the rollout is paused at step 1 with canary weight 20
    And 1 of 5 pods run the new version
    When I promote the rollout
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And 5 pods run revision 2
    And no new ReplicaSet was created

  @cluster
  Scenario: a crash right after the promotion
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    When I promote the rollout
    And the controller crashes and restarts after 5 seconds
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And 5 pods run revision 2
    And the rollout is at step 8 of 8
    And no new ReplicaSet was created

  Scenario Outline: a crash when step <k> is reached, after the promotion
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    When I promote the rollout
    And the rollout reaches step <k> within 2 minutes
    And the controller crashes and restarts after 5 seconds
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And 5 pods run revision 2
    And the rollout is at step 8 of 8
    And no new ReplicaSet was created

    Examples:
      | k |
      | 2 |
      | 3 |
      | 4 |
      | 5 |
      | 6 |
      | 7 |
      | 8 |

  Scenario Outline: a crash <delay> after the abort
    When I update the rollout to image argoproj/rollouts-demo:red
    Then the rollout becomes Paused within 2 minutes
    When I abort the rollout
    And <delay> pass
    And the controller crashes and restarts after 5 seconds
    Then the rollout becomes Degraded with message "RolloutAborted: Rollout aborted update to revision 2" within 2 minutes
    And 5 pods run revision 1 within 1 minute
    And no pods run revision 2 within 1 minute
    And the stable revision is 1
    And no new ReplicaSet was created
    When I update the rollout to image argoproj/rollouts-demo:blue
    Then the rollout becomes Healthy within 5 seconds
    And the stable revision is 3
    And 5 pods run revision 3
    And no new ReplicaSet was created

    # The abort writes its status at once, then scales the stable version up and the canary
    # down over the next tenth of a second: these delays land the crash on each of those writes.
    Examples:
      | delay            |
      | 0 milliseconds   |
      | 10 milliseconds  |
      | 20 milliseconds  |
      | 50 milliseconds  |
      | 90 milliseconds  |
      | 100 milliseconds |
      | 1 second         |

  Scenario Outline: a crash <delay> after re-applying the stable version
    When I update the rollout to image argoproj/rollouts-demo:red
    Then the rollout becomes Paused within 2 minutes
    When I abort the rollout
    Then the rollout becomes Degraded within 2 minutes
    And 5 pods run revision 1 within 1 minute
    When I update the rollout to image argoproj/rollouts-demo:blue
    And <delay> pass
    And the controller crashes and restarts after 5 seconds
    Then the rollout becomes Healthy within 1 minute
    And the stable revision is 3
    And 5 pods run revision 3
    And the rollout is at step 8 of 8
    And no new ReplicaSet was created

    Examples:
      | delay           |
      | 0 milliseconds  |
      | 20 milliseconds |
      | 50 milliseconds |
