@sim @istio @analysis
Feature: Analysis stops a bad version before users notice
  As someone following the Argo Rollouts page "Analysis & Progressive Delivery", I give the Istio
  guide's rollout the page's success-rate AnalysisTemplate, its Istio query as written (measured
  every 30 seconds, failing on the second measurement below 95%), and update it while clients call
  the site, 100 requests a second. A version that fails half of its requests is aborted by the
  background analysis during its first pause, at 20%, so that no more than a minute of the
  canary's share of the requests fails, and the traffic goes back to the stable; a good version goes through and its analysis ends
  Successful. An inline analysis step that can neither pass nor fail pauses the update for me to
  decide; when Prometheus is down, the analysis ends in Error and the update is aborted, since an
  analysis that cannot see must not let a version through; a dry-run analysis only reports.

  Background:
    Given a Kubernetes cluster with Istio installed
    # Two bad versions: red answers half of its requests with 500, orange one in twenty.
    And the image argoproj/rollouts-demo:red fails 50% of its requests
    And the image argoproj/rollouts-demo:orange fails 5% of its requests

  Scenario: a version that fails half of its requests is aborted by background analysis at 20%
    Given the background-analysis example's templates, rollout, services, virtualservices and gateway are applied
    Then the rollout becomes Healthy within 2 minutes
    And the rollout has no AnalysisRun
    When 100 requests per second flow to the host rollouts-demo-vsvc1.local
    And I update the rollout to image argoproj/rollouts-demo:red
    Then the rollout becomes Paused within 1 minute
    And the rollout is paused at step 1 with canary weight 20
    And the latest background AnalysisRun is Running

    # Two measurements below 95%, 30 seconds apart: the run fails and the update is aborted
    # during the two-minute pause, before step 2 (setWeight: 50).
    Then the rollout becomes Degraded before it reaches step 2 within 2 minutes
    And the rollout's message contains 'RolloutAborted: Rollout aborted update to revision 2: Metric "success-rate" assessed Failed due to failed (2) > failureLimit (1)'
    And the latest background AnalysisRun is Failed with message "failed (2) > failureLimit (1)"
    And the metric success-rate of the latest background AnalysisRun is Failed
    And the rollout has 1 AnalysisRun

    # All the traffic goes back to the stable version; the failed requests stay bounded.
    # (The rollout records the abort first, then writes the weights, as Argo does.)
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable within 10 seconds
    And the proxies send 100% to rollouts-demo-stable through the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 within 10 seconds
    # 100 requests a second, 20% of them to red, half of those fail: 10 a second, and the
    # rollout aborts within a minute of red's first request (467 fail on seed 1; 428 to 504 on
    # seeds 1 to 20).
    And requests failed with 500
    And at most 600 requests failed
    When 1 minute passes
    Then no more requests failed
    And the stable revision is 1
    And 1 pod runs revision 1
    And no pods run revision 2

  Scenario: a good version passes its background analysis, which ends Successful
    Given the background-analysis example's templates, rollout, services, virtualservices and gateway are applied
    Then the rollout becomes Healthy within 2 minutes
    When 100 requests per second flow to the host rollouts-demo-vsvc1.local
    And I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout reaches step 1 within 1 minute
    And the latest background AnalysisRun is Running
    When 3 minutes pass
    Then the rollout is paused at step 3 with canary weight 50
    And the metric success-rate of the latest background AnalysisRun is Running
    # The rollout stops the run once every step is done: it ends Successful.
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And the latest background AnalysisRun becomes Successful within 1 minute
    And the rollout has 1 AnalysisRun
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable
    And no request failed

  Scenario: an inconclusive analysis step pauses the rollout, and promote --full takes it through
    # The inline step measures twice and passes above 99%, fails below 90%: orange's 95% is
    # neither. The query's irate sees the last 5 seconds: with 500 requests a second, 500 of
    # them to the canary, enough that no measurement strays out of that band (at 100 a second,
    # one in a few dozen seeds reads one of them below 90%, and the run fails).
    Given the inline-analysis example's templates, rollout, services, virtualservices and gateway are applied
    Then the rollout becomes Healthy within 2 minutes
    When 500 requests per second flow to the host rollouts-demo-vsvc1.local
    And I update the rollout to image argoproj/rollouts-demo:orange
    Then the rollout becomes Paused with message "InconclusiveAnalysisRun" within 5 minutes
    And the rollout is paused at step 1 with canary weight 20
    And the latest step AnalysisRun is Inconclusive
    And the metric success-rate of the latest step AnalysisRun is Inconclusive
    When I promote the rollout with --full
    Then the rollout becomes Healthy within 2 minutes
    And the stable revision is 2
    # --full skips the remaining steps: no new AnalysisRun measures orange again.
    And the rollout has 1 AnalysisRun
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable within 1 minute
    And 1 pod runs revision 2 within 1 minute

  Scenario: with Prometheus down, the analysis ends in Error after its consecutive error limit and the update is aborted
    Given the background-analysis example's templates, rollout, services, virtualservices and gateway are applied
    Then the rollout becomes Healthy within 2 minutes
    When 100 requests per second flow to the host rollouts-demo-vsvc1.local
    And I update the rollout to image argoproj/rollouts-demo:yellow
    Then the rollout reaches step 1 within 1 minute
    When Prometheus is down for 10 minutes
    # Every query fails; the fifth error in a row is one more than consecutiveErrorLimit (4).
    Then the rollout becomes Degraded before it reaches step 2 within 2 minutes
    And the latest background AnalysisRun is Error with message "consecutiveErrors (5) > consecutiveErrorLimit (4)"
    And the rollout's message contains 'Metric "success-rate" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4)'
    And the stable revision is 1
    And the VirtualServices rollouts-demo-vsvc1 and rollouts-demo-vsvc2 send 0% to rollouts-demo-canary and 100% to rollouts-demo-stable within 10 seconds
    # yellow is a good version: it was aborted for want of measurements, not for its requests.
    And no request failed

  Scenario: a dry-run metric fails but never aborts the rollout
    Given the dry-run analysis example's templates, rollout, services, virtualservices and gateway are applied
    Then the rollout becomes Healthy within 2 minutes
    When 100 requests per second flow to the host rollouts-demo-vsvc1.local
    And I update the rollout to image argoproj/rollouts-demo:red
    Then the rollout reaches step 1 within 1 minute
    # The metric fails just as in the first scenario, at the same time; in dry-run mode it
    # does not count, so the run, its only metric done, is Successful, and the update goes on.
    And the metric success-rate of the latest background AnalysisRun becomes Failed within 2 minutes
    And the latest background AnalysisRun is Successful
    And the rollout is paused at step 1 with canary weight 20
    Then the rollout becomes Healthy within 5 minutes
    And the stable revision is 2
    And the rollout has 1 AnalysisRun
    And the metric success-rate of the latest background AnalysisRun is Failed
    # What a dry run costs: red's failed requests reached the clients.
    And requests failed with 500
