@sim @istio
Feature: The Istio getting-started guide
  As someone following the Argo Rollouts guide "Getting Started - Istio", I deploy the demo
  Rollout, its two Services, the two VirtualServices and the Gateway in a cluster with Istio,
  update it to yellow and see it pause with 5% of the traffic on the canary: in both
  VirtualServices as the rollout writes them, and as the mesh's proxies route. I promote it and
  all traffic moves to yellow. Clients call both hosts the whole time, 100 requests a second
  each, and none of their requests fails.

  Background:
    Given a Kubernetes cluster with Istio installed

  Scenario: deploy, update to yellow, pause at 5% in both VirtualServices and promote with no request failed
    # 1. Deploy the Rollout, Services, Istio VirtualService, and Istio Gateway.
    Given the Istio guide's rollout, services, virtualservices and gateway are applied
    Then the rollout becomes Healthy within 2 minutes
    And 1 pod runs revision 1
    And the stable revision is 1
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable
    And the proxies send 100% to rollouts-demo-stable through the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 within 1 minute
    When 100 requests per second flow to the host rollouts-demo-vsvc1.local
    And 100 requests per second flow to the host rollouts-demo-vsvc2.local

    # 2. Perform an update: the canary gets 5% in both VirtualServices, then the rollout pauses.
    And I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 5
    And the rollout's message contains "CanaryPauseStep"
    And 1 of 2 pods run the new version
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 5% to rollouts-demo-canary and 95% to rollouts-demo-stable
    And the proxies send 5% to rollouts-demo-canary and 95% to rollouts-demo-stable through the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 within 10 seconds
    When 2 minutes pass
    Then about 5% of the requests to the host rollouts-demo-vsvc1.local were answered by argoproj/rollouts-demo:yellow
    And about 5% of the requests to the host rollouts-demo-vsvc2.local were answered by argoproj/rollouts-demo:yellow
    And no request failed

    # 3. Promote the rollout: the canary becomes stable, the VirtualServices send it everything.
    When I promote the rollout
    Then the rollout becomes Healthy within 2 minutes
    And the stable revision is 2
    And the Service rollouts-demo-stable selects revision 2 within 10 seconds
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable within 1 minute
    And the proxies send 100% to rollouts-demo-stable through the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 within 10 seconds
    When 1 minute passes
    Then 1 pod runs revision 2
    And no pods run revision 1
    And no request failed
    # Clients that start now meet only yellow.
    When 100 requests per second flow to the host rollouts-demo-vsvc1.local
    And 30 seconds pass
    Then all requests to the host rollouts-demo-vsvc1.local were answered by argoproj/rollouts-demo:yellow
    And no request failed

  Scenario: the guide's text routes HTTP, TLS and TCP, and every route gets the weight
    # The text's VirtualServices have an HTTP, a TLS and a TCP route each; its rollout names the
    # HTTP and TLS routes of both and the TCP route of the second (the first's TCP route, its
    # only one, is managed too). One fix: see manifests/istio-tls-tcp/rollout.yaml.
    Given the Istio guide text's rollout, services, virtualservices and gateway are applied
    Then the rollout becomes Healthy within 2 minutes
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable
    When 100 requests per second flow to the host rollouts-demo-vsvc1.local
    And I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 5
    # Every managed route of both: spec.http[0], spec.tls[0] and spec.tcp[0].
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 5% to rollouts-demo-canary and 95% to rollouts-demo-stable
    And the proxies send 5% to rollouts-demo-canary and 95% to rollouts-demo-stable through the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 within 10 seconds
    When I promote the rollout
    Then the rollout becomes Healthy within 2 minutes
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable within 10 seconds
    When 1 minute passes
    Then no request failed

  Scenario: the guide's text as written: the second VirtualService's TLS route does not match the rollout's
    # The text's rollout asks rollouts-demo-vsvc2 for a TLS route on SNI hosts reviews.bookinfo.com
    # and localhost, but that VirtualService's TLS route lists only reviews.bookinfo.com: a
    # tlsRoutes entry must match exactly, so the rollout is rejected.
    Given the Istio guide text's services, virtualservices and gateway are applied
    And the manifest:
      """yaml
      apiVersion: argoproj.io/v1alpha1
      kind: Rollout
      metadata:
        name: rollouts-demo
      spec:
        replicas: 1
        strategy:
          canary:
            canaryService: rollouts-demo-canary
            stableService: rollouts-demo-stable
            trafficRouting:
              istio:
                virtualServices:
                - name: rollouts-demo-vsvc1
                  routes:
                  - http-primary
                  tlsRoutes:
                  - port: 443
                    sniHosts:
                    - reviews.bookinfo.com
                    - localhost
                - name: rollouts-demo-vsvc2
                  routes:
                    - http-secondary
                  tlsRoutes:
                    - port: 443
                      sniHosts:
                        - reviews.bookinfo.com
                        - localhost
                  tcpRoutes:
                    - port: 8020
            steps:
            - setWeight: 5
            - pause: {}
        selector:
          matchLabels:
            app: rollouts-demo
        template:
          metadata:
            labels:
              app: rollouts-demo
              istio-injection: enabled
          spec:
            containers:
            - name: rollouts-demo
              image: argoproj/rollouts-demo:blue
      """
    Then the rollout becomes Degraded within 1 minute
    And the rollout's message contains "InvalidSpec"
    And the rollout's message contains "No matching TLS routes found"
    And the rollout's message contains "rollouts-demo-vsvc2"
    And the rollout has no ReplicaSet
