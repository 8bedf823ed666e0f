@sim @cluster
Feature: A Rollout with an invalid spec
  A Rollout the controller cannot act on is not half-run: it becomes Degraded with an
  InvalidSpec message that names the offending field, and no ReplicaSet is created. Applying
  a corrected manifest is all it takes to deploy it.

  Scenario: a canary weight above 100 is rejected until the spec is fixed
    Given the manifest:
      """yaml
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata:
        name: weighty
      spec:
        replicas: 3
        selector:
          matchLabels: {app: weighty}
        strategy:
          canary:
            steps:
            - setWeight: 120
            - pause: {}
        template:
          metadata:
            labels: {app: weighty}
          spec:
            containers:
            - name: app
              image: argoproj/rollouts-demo:blue
      """
    Then the rollout becomes Degraded within 1 minute
    And the rollout's message contains "InvalidSpec"
    And the rollout's message contains "spec.strategy.canary.steps[0].setWeight"
    And 10 seconds pass
    And the rollout is Degraded
    And the rollout has no ReplicaSet
    When I apply the corrected manifest:
      """yaml
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata:
        name: weighty
      spec:
        replicas: 3
        selector:
          matchLabels: {app: weighty}
        strategy:
          canary:
            steps:
            - setWeight: 20
            - pause: {}
        template:
          metadata:
            labels: {app: weighty}
          spec:
            containers:
            - name: app
              image: argoproj/rollouts-demo:blue
      """
    Then the rollout becomes Healthy within 2 minutes
    And 3 pods run revision 1
    And the rollout has 1 ReplicaSet

  Scenario: a canaryService that does not exist is rejected until it is created
    Given the manifest:
      """yaml
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata:
        name: orphan
      spec:
        replicas: 2
        selector:
          matchLabels: {app: orphan}
        strategy:
          canary:
            canaryService: orphan-canary
            steps:
            - setWeight: 50
            - pause: {}
        template:
          metadata:
            labels: {app: orphan}
          spec:
            containers:
            - name: app
              image: argoproj/rollouts-demo:blue
      """
    Then the rollout becomes Degraded within 1 minute
    And the rollout's message contains "InvalidSpec"
    And the rollout's message contains "spec.strategy.canary.canaryService"
    And the rollout's message contains "orphan-canary"
    And 10 seconds pass
    And the rollout has no ReplicaSet
    When I apply the missing Service's manifest:
      """yaml
      apiVersion: v1
      kind: Service
      metadata:
        name: orphan-canary
      spec:
        selector: {app: orphan}
        ports:
        - port: 80
          targetPort: 8080
      """
    Then the rollout becomes Healthy within 2 minutes
    And 2 pods run revision 1
