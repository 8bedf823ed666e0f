@sim @istio
Feature: Subset-level traffic splitting with Istio
  Argo Rollouts' Istio page, "Subset-level Traffic Splitting": one Service that the rollout does
  not touch, a VirtualService whose route splits between the stable and canary subsets of a
  DestinationRule, and the DestinationRule, whose subsets the rollout labels with the stable and
  canary ReplicaSets' rollouts-pod-template-hash. An update walks 5, 25, 50, 75 and 100% while
  100 clients a second call the VirtualService's host; the subsets follow the ReplicaSets, the
  proxies follow the weights, and no request fails.

  Background:
    Given a Kubernetes cluster with Istio installed

  Scenario: the subsets follow the ReplicaSets while the weight walks from 5% to 100%
    Given the Istio subset example's service, virtualservice, destinationrule, gateway and rollout are applied
    Then the rollout becomes Healthy within 2 minutes
    And 4 pods run revision 1
    And the subsets stable and canary of the DestinationRule select revision 1 within 10 seconds
    And the VirtualService rollout-vsvc sends 100% to subset stable and 0% to subset canary
    And the proxies send 100% to subset stable through the VirtualService rollout-vsvc within 1 minute
    When 100 requests per second flow to the host istio-rollout.dev.argoproj.io

    When I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout becomes Paused within 2 minutes
    And the rollout is paused at step 1 with canary weight 5
    And the subset stable of the DestinationRule selects revision 1
    And the subset canary of the DestinationRule selects revision 2
    And the VirtualService rollout-vsvc sends 5% to subset canary and 95% to subset stable
    And the proxies send 5% to subset canary and 95% to subset stable through the VirtualService rollout-vsvc within 10 seconds
    When 1 minute passes
    Then about 5% of the requests to the host istio-rollout.dev.argoproj.io were answered by argoproj/rollouts-demo:yellow
    And no request failed

    When I promote the rollout
    Then the rollout reaches step 3 within 1 minute
    And the VirtualService rollout-vsvc sends 25% to subset canary and 75% to subset stable
    And the proxies send 25% to subset canary and 75% to subset stable through the VirtualService rollout-vsvc within 10 seconds
    And the rollout reaches step 5 within 1 minute
    And the VirtualService rollout-vsvc sends 50% to subset canary and 50% to subset stable
    And the proxies send 50% to subset canary and 50% to subset stable through the VirtualService rollout-vsvc within 10 seconds
    And the rollout reaches step 7 within 1 minute
    And the VirtualService rollout-vsvc sends 75% to subset canary and 25% to subset stable
    And the proxies send 75% to subset canary and 25% to subset stable through the VirtualService rollout-vsvc within 10 seconds
    And the VirtualService rollout-vsvc sends 100% to subset canary and 0% to subset stable within 1 minute
    And the subset canary of the DestinationRule selects revision 2
    And the subset stable of the DestinationRule selects revision 1

    # Promoted: both subsets select the new pods, and the stable subset gets all the traffic.
    Then the rollout becomes Healthy within 2 minutes
    And the stable revision is 2
    And the subsets stable and canary of the DestinationRule select revision 2 within 10 seconds
    And the VirtualService rollout-vsvc sends 100% to subset stable and 0% to subset canary within 10 seconds
    And the proxies send 100% to subset stable through the VirtualService rollout-vsvc within 10 seconds
    When 1 minute passes
    Then 4 pods run revision 2
    And no pods run revision 1
    And no request failed
