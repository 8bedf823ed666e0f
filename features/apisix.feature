@sim @apisix
Feature: Traffic management with Apache APISIX
  As someone following the Argo Rollouts page "Apache APISIX", I apply its ApisixRoute (written
  without weights), the Rollout and the two Services, and update the rollout to yellow. The
  rollout scales the canary to one pod and creates the set-header ApisixRoute, which sends the
  requests with the header trace: debug to the canary; then it sets the backend weights of my
  ApisixRoute, 80 for the stable and 20 for the canary, as `kubectl describe apisixroute` shows on
  the page. Clients call rollouts-demo.apisix.local through the APISIX gateway the whole time, and
  none of their requests fails.

  Background:
    Given Apache APISIX with its ingress controller

  Scenario: the page's update: a header route and one canary pod, then 20% and on to the end
    Given the APISIX guide's route, rollout and services are applied
    Then the rollout becomes Healthy within 2 minutes
    And 5 pods run revision 1
    And the ApisixRoute rollouts-apisix-route sends 100% to rollout-apisix-canary-stable and 0% to rollout-apisix-canary-canary
    And there is no ApisixRoute set-header
    When 100 requests per second go to rollouts-demo.apisix.local

    # Updating: the first step scales the canary to one pod and adds the header route.
    And I set the image of container rollouts-demo to argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 0
    And 1 of 6 pods run the new version
    And the ApisixRoute set-header sends requests whose header trace is "debug" to rollout-apisix-canary-canary
    And the ApisixRoute set-header sends 100% to rollout-apisix-canary-canary

    # setWeight 20: the backend weights the page shows, at the gateway too; still one canary pod.
    When I promote the rollout
    Then the rollout reaches step 3 within 1 minute
    And the rollout becomes Paused within 1 minute
    And the rollout is paused at step 3 with canary weight 20
    And the ApisixRoute rollouts-apisix-route sends 80% to rollout-apisix-canary-stable and 20% to rollout-apisix-canary-canary
    And the APISIX gateway sends 80% to rollout-apisix-canary-stable and 20% to rollout-apisix-canary-canary through the ApisixRoute rollouts-apisix-route within 5 seconds
    And 1 of 6 pods run the new version
    When 1 minute passes
    Then requests were answered by argoproj/rollouts-demo:yellow
    And no request failed

    # Through 40, 60 and 80% to the end: the header route is deleted, yellow takes everything.
    When I promote the rollout
    Then the rollout reaches step 9 within 2 minutes
    And the ApisixRoute rollouts-apisix-route sends 20% to rollout-apisix-canary-stable and 80% to rollout-apisix-canary-canary
    And the rollout becomes Healthy within 3 minutes
    And the stable revision is 2
    And there is no ApisixRoute set-header within 1 minute
    And the ApisixRoute rollouts-apisix-route sends 100% to rollout-apisix-canary-stable and 0% to rollout-apisix-canary-canary
    And the Service rollout-apisix-canary-stable selects revision 2
    When 1 minute passes
    Then 5 pods run revision 2
    And no pods run revision 1
    And no request failed

  Scenario: a tester's requests go to the canary while everyone else stays on the stable
    Given the APISIX guide's route and services are applied
    And the manifest:
      """yaml
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata:
        name: rollout-apisix-canary
      spec:
        replicas: 5
        strategy:
          canary:
            canaryService: rollout-apisix-canary-canary
            stableService: rollout-apisix-canary-stable
            trafficRouting:
              managedRoutes:
                - name: testers
              apisix:
                route:
                  name: rollouts-apisix-route
                  rules:
                    - rollouts-apisix
            steps:
              - setCanaryScale:
                  replicas: 1
                setHeaderRoute:
                  name: testers
                  match:
                    - headerName: X-Tester
                      headerValue:
                        prefix: qa-
              - pause: {}
              - setWeight: 20
              - pause: {}
        selector:
          matchLabels:
            app: rollout-apisix-canary
        template:
          metadata:
            labels:
              app: rollout-apisix-canary
          spec:
            containers:
              - name: rollouts-demo
                image: argoproj/rollouts-demo:blue
      """
    Then the rollout becomes Healthy within 2 minutes
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 0
    And the ApisixRoute testers sends requests whose header X-Tester matches "^qa-.*" to rollout-apisix-canary-canary
    And the APISIX gateway sends 100% to rollout-apisix-canary-canary through the ApisixRoute testers within 5 seconds
    And the ApisixRoute rollouts-apisix-route sends 100% to rollout-apisix-canary-stable and 0% to rollout-apisix-canary-canary
    When 100 requests per second go to rollouts-demo.apisix.local
    And the testers send 10 requests per second with the header X-Tester: qa-alice to rollouts-demo.apisix.local
    And 1 minute passes
    Then all requests of the testers were answered by argoproj/rollouts-demo:yellow
    And all requests to the host rollouts-demo.apisix.local were answered by argoproj/rollouts-demo:blue
    And no request failed

    # An abort takes the header route away before the canary pod goes: the testers are back on blue.
    When I abort the rollout
    Then the rollout becomes Degraded within 1 minute
    And there is no ApisixRoute testers within 10 seconds
    When the testers send 10 requests per second with the header X-Tester: qa-alice to rollouts-demo.apisix.local
    And 1 minute passes
    Then no pods run revision 2
    And all requests of the testers were answered by argoproj/rollouts-demo:blue
    And no request failed
