@sim @cluster
Feature: The basic canary getting-started guide
  As someone following the Argo Rollouts getting-started guide, I deploy the demo Rollout,
  update it to a new colour, watch it pause at 20%, promote it through the timed steps,
  then abort a bad update and re-apply the stable version, and see the same states the
  guide describes.

  Scenario: deploy, update, promote, abort and roll back as the guide does
    # 1. Deploying a Rollout: the first version goes straight to 100%.
    Given the basic canary guide's rollout and service are applied
    Then the rollout becomes Healthy within 2 minutes
    And 5 pods run revision 1
    And the stable revision is 1

    # 2. Updating a Rollout: 20% to the canary, then an indefinite pause.
    When I set the image of container rollouts-demo to argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 20
    And 1 of 5 pods run the new version
    And the rollout's message contains "CanaryPauseStep"

    # 3. Promoting a Rollout: the remaining steps run on their own.
    When I promote the rollout
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And 5 pods run revision 2
    And 5 of 5 pods run the new version
    And the rollout is at step 8 of 8

    # 4. Aborting a Rollout: a red update, aborted at the pause, falls back to yellow.
    When I set the image of container rollouts-demo to argoproj/rollouts-demo:red
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 20
    And 1 of 5 pods run the new version
    When I abort the rollout
    Then the rollout becomes Degraded with message "RolloutAborted: Rollout aborted update to revision 3" within 2 minutes
    And 5 pods run revision 2 within 1 minute
    And no pods run revision 3 within 1 minute
    And 0 of 5 pods run the new version
    And the stable revision is 2

    # Re-applying the stable version is a rollback, not an update: Healthy at once.
    When I set the image of container rollouts-demo to argoproj/rollouts-demo:yellow
    Then the rollout becomes Healthy within 5 seconds
    And no new ReplicaSet was created
    And the stable revision is 4
    And 5 pods run revision 4
    And the rollout is at step 8 of 8
    And the events for the rollout include "SkipSteps"
