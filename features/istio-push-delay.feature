@sim @istio @chaos
Feature: Istio config-push delay against the rollout's scale-down delays
  The rollout writes the VirtualServices and reads them back from the API server, but the mesh's
  proxies route by them only once istiod has pushed them. When an abort sets the canary's weight
  to 0, the canary pods are scaled down after abortScaleDownDelaySeconds (30 seconds): if the
  proxies get the new routes later than that, they keep sending the canary's share to a Service
  with no pods, and those requests get 503 — while every API object already reads right, so
  nothing in the rollout's status shows it. Within the delay, nothing fails.

  Background:
    Given a Kubernetes cluster with Istio installed

  Scenario: proxies 45 to 60 seconds late: the abort leaves them sending 5% to a canary with no pods
    Given the proxies get configuration 45 seconds to 60 seconds late
    And the Istio guide's rollout, services, virtualservices and gateway are applied
    And the rollout becomes Healthy within 2 minutes
    And the proxies send 100% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc1 within 2 minutes
    And 100 requests per second flow to the host rollouts-demo-vsvc1.local
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the proxies send 5% to rollouts-demo-canary and 95% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc1 within 2 minutes
    And no request failed

    When I abort the rollout
    Then the rollout becomes Degraded with message "RolloutAborted" within 1 minute
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable within 10 seconds
    But the proxies send 5% to rollouts-demo-canary and 95% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc1
    # abortScaleDownDelaySeconds later the canary pods go; the proxies have not caught up.
    And no pods run revision 2 within 1 minute
    And the proxies send 5% to rollouts-demo-canary and 95% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc1
    And the rollout is Degraded
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable
    When 5 seconds pass
    Then requests failed with 503
    # The push arrives: the failures stop.
    And the proxies send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc1 within 1 minute
    And requests failed with 503 for at least 5 seconds
    When 30 seconds pass
    Then no more requests failed

  Scenario: proxies up to 20 seconds late, within abortScaleDownDelaySeconds: no request fails
    Given the proxies get configuration 1 second to 20 seconds late
    And the Istio guide's rollout, services, virtualservices and gateway are applied
    And the rollout becomes Healthy within 2 minutes
    And the proxies send 100% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc1 within 1 minute
    And 100 requests per second flow to the host rollouts-demo-vsvc1.local
    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the proxies send 5% to rollouts-demo-canary and 95% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc1 within 1 minute
    When I abort the rollout
    Then the rollout becomes Degraded with message "RolloutAborted" within 1 minute
    And the proxies send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable through the VirtualService rollouts-demo-vsvc1 within 30 seconds
    And no pods run revision 2 within 1 minute
    When 1 minute passes
    Then no request failed
