@sim @istio
Feature: A header route for testers
  With a setHeaderRoute step (Argo Rollouts' traffic-management page, "Traffic Routing Based on
  Header Values for Canary"), the rollout adds a route of its own to the VirtualService at 20%:
  every request with the header x-canary: true goes to the canary, so testers can try the new
  version while everyone else gets the weight. The route is the rollout's (managedRoutes): it
  goes when the update completes, and when the update is aborted, which also sends everything
  back to the stable. Clients call the site plainly, 100 requests a second, and none of their
  requests fails.

  Background:
    Given a Kubernetes cluster with Istio installed
    And the Istio header-route example's services, virtualservice, gateway and rollout are applied
    And the rollout becomes Healthy within 2 minutes
    And the VirtualService rollouts-demo-vsvc has no managed routes
    And 100 requests per second flow to the host rollouts-demo.local

  Scenario: testers with the header reach the canary while the other clients get the weight
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 2 with canary weight 20
    And the VirtualService rollouts-demo-vsvc has the route header-route
    And the VirtualService rollouts-demo-vsvc sends 20% to rollouts-demo-canary and 80% to rollouts-demo-stable
    And the proxies have the route header-route of the VirtualService rollouts-demo-vsvc within 10 seconds
    When the testers send 10 requests per second to the host rollouts-demo.local with header x-canary: true
    And the users send 100 requests per second to the host rollouts-demo.local
    And 1 minute passes
    Then all requests of the testers were answered by argoproj/rollouts-demo:yellow
    And about 20% of the requests of the users were answered by argoproj/rollouts-demo:yellow
    And no request failed

    When I promote the rollout
    Then the rollout reaches step 4 within 1 minute
    And the VirtualService rollouts-demo-vsvc has the route header-route
    And the rollout becomes Healthy within 2 minutes
    And the stable revision is 2
    And the VirtualService rollouts-demo-vsvc has no managed routes left within 10 seconds
    And the VirtualService rollouts-demo-vsvc sends 0% to rollouts-demo-canary and 100% to rollouts-demo-stable
    And the proxies have no route header-route of the VirtualService rollouts-demo-vsvc within 10 seconds
    When 1 minute passes
    Then no request failed

  Scenario: an abort sends everyone back to stable and removes the header route
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the VirtualService rollouts-demo-vsvc has the route header-route
    And the proxies have the route header-route of the VirtualService rollouts-demo-vsvc within 10 seconds
    When the testers send 10 requests per second to the host rollouts-demo.local with header x-canary: true
    And 30 seconds pass
    Then all requests of the testers were answered by argoproj/rollouts-demo:yellow

    When I abort the rollout
    Then the rollout becomes Degraded with message "RolloutAborted" within 1 minute
    And the canary weight is 0
    And the VirtualService rollouts-demo-vsvc sends 0% to rollouts-demo-canary and 100% to rollouts-demo-stable within 10 seconds
    And the VirtualService rollouts-demo-vsvc has no managed routes left within 10 seconds
    And the proxies have no route header-route of the VirtualService rollouts-demo-vsvc within 10 seconds
    And the proxies send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc
    # The testers' requests, header or not, now reach the stable.
    When the testers send 10 requests per second to the host rollouts-demo.local with header x-canary: true
    And 1 minute passes
    Then all requests of the testers were answered by argoproj/rollouts-demo:blue
    And no pods run revision 2
    And 5 pods run revision 1
    And the rollout is Degraded
    And no request failed
