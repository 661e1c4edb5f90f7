"""Single-turn IDE requests about operations: bash, PowerShell, Terraform, Kubernetes and Helm YAML,
Dockerfiles, GitHub Actions, regexes and git. Local for well-known one-liners, small manifest edits,
boilerplate and git recipes; sonnet for debugging from describe/plan/CI output, known migrations and
multi-step scripts; opus for leader election and quorum reasoning, privileged-script and CI security
review, production data moves, and latency investigations with only symptoms."""

# ruff: noqa: E501  (prompts are data: long literal lines stay as written)

from __future__ import annotations

from fixtures import CONTINUE_CHAT, COPILOT_LIKE, case, code, req, s, u
from fixtures_single import EDITOR_ASSISTANT, attached, project_chat

LOCAL = [
    case(
        "ops-bash-getopts",
        "local",
        "Adding getopts flags to a three-line script is standard boilerplate.",
        req(
            u(
                "add -v (verbose) and -o <file> options with getopts, default output is stdout\n"
                + code(
                    "bash",
                    """
#!/usr/bin/env bash
set -euo pipefail

src="$1"
jq -r '.items[] | [.id, .name, .price] | @csv' "$src"
""",
                )
            )
        ),
        "shell",
        "single",
        "edit",
    ),
    case(
        "ops-bash-ls-spaces",
        "local",
        "Word splitting of $(ls) and unquoted variables: the most common shell pitfall.",
        req(
            u(
                "breaks on filenames with spaces, why\n"
                + code(
                    "bash",
                    """
for f in $(ls *.txt); do
  wc -l $f
done
""",
                )
            )
        ),
        "shell",
        "single",
        "debug",
    ),
    case(
        "ops-ps-big-files",
        "local",
        "A Get-ChildItem pipeline with a filter, a calculated property and a sort.",
        req(
            u(r"powershell: list files over 100MB under D:\shares recursively, full path and size in MB, biggest first")
        ),
        "powershell",
        "single",
        "question",
    ),
    case(
        "ops-ps-whatif-explain",
        "local",
        "Explaining a one-line PowerShell pipeline and -WhatIf.",
        req(
            u(
                "what does this do exactly, especially the -WhatIf at the end\n"
                + code(
                    "powershell",
                    """
Get-Process | Where-Object { $_.WorkingSet64 -gt 500MB -and $_.ProcessName -like 'chrome*' } | Stop-Process -WhatIf
""",
                )
            )
        ),
        "powershell",
        "single",
        "question",
    ),
    case(
        "ops-tf-variable-validation",
        "local",
        "A validation block on one variable is a documented, mechanical edit.",
        req(
            u(
                "add validation so env can only be dev, staging or prod\n"
                + code(
                    "hcl",
                    """
variable "env" {
  type        = string
  description = "Deployment environment"
}
""",
                )
            )
        ),
        "terraform",
        "single",
        "edit",
    ),
    case(
        "ops-k8s-add-probes",
        "local",
        "Adding readiness and liveness probes to a container spec is standard YAML.",
        req(
            s(CONTINUE_CHAT),
            u(
                "add readiness + liveness probes. the app serves GET /healthz on 8080 and takes ~20s to boot\n"
                + attached(
                    "deploy/api/deployment.yaml",
                    "yaml",
                    """
      containers:
        - name: api
          image: registry.example.com/api:1.14.2
          ports:
            - containerPort: 8080
          resources:
            requests: { cpu: 200m, memory: 256Mi }
            limits: { memory: 512Mi }
""",
                    lines=(17, 24),
                )
            ),
        ),
        "kubernetes",
        "yaml",
        "single",
        "edit",
    ),
    case(
        "ops-helm-templatize",
        "local",
        "Moving three literals into values.yaml with defaults is a mechanical Helm edit.",
        req(
            u(
                "template this so replicas, image repo/tag and the LOG_LEVEL env come from values.yaml (with defaults)\n"
                + code(
                    "yaml",
                    """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 2
  selector:
    matchLabels: { app: worker }
  template:
    metadata:
      labels: { app: worker }
    spec:
      containers:
        - name: worker
          image: ghcr.io/acme/worker:2.3.0
          env:
            - name: LOG_LEVEL
              value: info
""",
                )
            )
        ),
        "helm",
        "kubernetes",
        "yaml",
        "single",
        "edit",
    ),
    case(
        "ops-dockerfile-fastapi",
        "local",
        "A Dockerfile for a small FastAPI app with a non-root user is standard boilerplate.",
        req(
            u(
                "dockerfile for a fastapi app: requirements.txt at the root, code in app/, run uvicorn app.main:app on 8000, python 3.12 slim, don't run as root"
            )
        ),
        "docker",
        "python",
        "single",
        "boilerplate",
    ),
    case(
        "ops-gha-npm-cache",
        "local",
        "Turning on setup-node's npm cache is a one-line workflow edit.",
        req(
            u(
                "add caching for npm to this\n"
                + code(
                    "yaml",
                    """
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: npm ci
      - run: npm test
""",
                )
            )
        ),
        "github-actions",
        "yaml",
        "single",
        "edit",
    ),
    case(
        "ops-regex-version-tag",
        "local",
        "A simple version-tag regex in POSIX ERE for a bash =~ test.",
        req(
            u(
                "regex for version tags like v1.2.3 or 1.2.3-rc.1 (no build metadata needed), for a bash [[ $tag =~ ... ]] check in our release script"
            )
        ),
        "regex",
        "shell",
        "single",
    ),
    case(
        "ops-regex-ipv4-octets",
        "local",
        "Bounding each IPv4 octet to 0-255 is a well-known regex.",
        req(u(r"why does this accept 999.999.1.1 as an ip? `^(\d{1,3}\.){3}\d{1,3}$` fix it so each part is 0-255")),
        "regex",
        "single",
        "debug",
    ),
    case(
        "ops-git-move-commits-branch",
        "local",
        "Moving unpushed commits from main to a new branch: a well-known git recipe.",
        req(
            s(COPILOT_LIKE),
            u("oops, committed 2 commits to main instead of my feature branch. not pushed yet. how do i move them"),
        ),
        "git",
        "single",
        "question",
    ),
    case(
        "ops-k8s-secret-critical",
        "local",
        "Despite the alarm, the task is a Secret manifest and a secretKeyRef.",
        req(
            u(
                "CRITICAL: the DB password is sitting in plain text in our deployment!!! move it into a k8s secret now\n"
                + code(
                    "yaml",
                    """
          env:
            - name: DB_HOST
              value: postgres.db.svc.cluster.local
            - name: DB_PASSWORD
              value: "s3cr3t-Pa55"
""",
                )
            )
        ),
        "kubernetes",
        "yaml",
        "single",
        "security",
        "misleading",
    ),
    case(
        "ops-tf-outputs-architecture",
        "local",
        "An 'architecture decision' that is a file-layout convention with a standard answer.",
        req(
            u(
                "architecture decision we need to make: terraform outputs in a separate outputs.tf, or at the bottom of main.tf? the team is split on it"
            )
        ),
        "terraform",
        "single",
        "question",
        "misleading",
    ),
    case(
        "ops-k8s-zero-downtime-rollout",
        "local",
        "'Zero downtime' here means the standard rolling-update settings plus a preStop pause for one Deployment.",
        req(
            u(
                "we need ZERO DOWNTIME deploys for this service, what do i change in the deployment? 3 replicas, readiness probe is already there, stateless http api behind an ingress"
            )
        ),
        "kubernetes",
        "yaml",
        "single",
        "question",
        "misleading",
    ),
]

SONNET = [
    case(
        "ops-k8s-oomkilled-jvm",
        "sonnet",
        "OOMKilled with the heap at 60%: -Xmx equals the container limit, so threads, metaspace and Netty's direct memory push past it; diagnosis from describe output.",
        req(
            u(
                "pod keeps getting OOMKilled but the heap dashboards show heap at ~60%\n"
                + code(
                    "text",
                    """
$ kubectl describe pod billing-7d9f6c7b8-x2kqp
...
    State:          Running
      Started:      Sun, 03 Nov 2024 14:21:07 +0100
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Sun, 03 Nov 2024 13:02:44 +0100
      Finished:     Sun, 03 Nov 2024 14:21:05 +0100
    Ready:          True
    Restart Count:  6
    Limits:
      memory:  2Gi
    Requests:
      cpu:     500m
      memory:  2Gi
    Environment:
      JAVA_TOOL_OPTIONS:  -Xmx2g -XX:+UseG1GC
""",
                )
                + "\nspring boot 3, java 21, webclient (netty), ~400 threads"
            )
        ),
        "kubernetes",
        "java",
        "single",
        "debug",
    ),
    case(
        "ops-tf-moved-into-module",
        "sonnet",
        "A known refactor: moved blocks from root resources into a module, including the count-to-for_each key mapping.",
        req(
            u(
                "refactored our vpc resources into a module and now plan wants to destroy and recreate everything. how do i do this without recreating?\n"
                + code(
                    "text",
                    """
  # aws_nat_gateway.main will be destroyed
  # aws_subnet.private[0] will be destroyed
  # aws_subnet.private[1] will be destroyed
  # aws_vpc.main will be destroyed
  # module.network.aws_nat_gateway.main will be created
  # module.network.aws_subnet.private["eu-west-1a"] will be created
  # module.network.aws_subnet.private["eu-west-1b"] will be created
  # module.network.aws_vpc.this will be created

Plan: 4 to add, 0 to change, 4 to destroy.
""",
                )
                + "\nterraform 1.6. private[0] was eu-west-1a and private[1] eu-west-1b"
            )
        ),
        "terraform",
        "single",
        "migration",
    ),
    case(
        "ops-gha-build-once-deploy",
        "sonnet",
        "A CI/CD workflow with a matrix, OIDC, environments with approval and promotion of one image: several pieces, all well documented.",
        req(
            s(project_chat("node 20 monorepo, docker, AWS ECR + ECS, GitHub Actions")),
            u(
                "workflow pls: on PRs run tests on node 18 and 20; on push to main build + push the docker image to ECR and deploy to staging; on tag v* deploy that same image to prod behind a manual approval. OIDC for aws, no long-lived keys. deploying is just `aws ecs update-service --cluster X --service Y --force-new-deployment` after updating the task def image"
            ),
        ),
        "github-actions",
        "yaml",
        "single",
        "implement",
    ),
    case(
        "ops-bash-ci-shallow-pipefail",
        "sonnet",
        "Two causes read from CI behaviour: a shallow checkout without origin/main, and grep's no-match status under pipefail inside a command substitution.",
        req(
            u(
                "this works on my mac. in CI (ubuntu runner) it exits 1 right after 'collecting' — there's a `fatal: ambiguous argument 'origin/main...HEAD'` line above it that i don't get locally. and locally it also dies on branches that only touch docs/\n"
                + code(
                    "bash",
                    """
#!/usr/bin/env bash
set -euo pipefail

echo "collecting"
changed=$(git diff --name-only origin/main...HEAD | grep '^services/')
count=$(echo "$changed" | wc -l)
for svc in $(echo "$changed" | cut -d/ -f2 | sort -u); do
  echo "building $svc"
  make -C "services/$svc" build
done
echo "built from $count changed files"
""",
                )
                + "\nthe CI checkout step is actions/checkout@v4 with defaults"
            )
        ),
        "shell",
        "github-actions",
        "single",
        "debug",
    ),
    case(
        "ops-helm-selector-immutable",
        "sonnet",
        "Immutable Deployment selector after a label change, in production without downtime: a known procedure (orphan delete or a parallel Deployment).",
        req(
            u(
                "helm upgrade fails after i cleaned up the labels in our chart\n"
                + code(
                    "text",
                    """
Error: UPGRADE FAILED: cannot patch "orders-api" with kind Deployment: Deployment.apps "orders-api" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app.kubernetes.io/instance":"orders", "app.kubernetes.io/name":"orders-api"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable
""",
                )
                + "\nthe old selector was just `app: orders-api`. this is prod, 6 replicas, can't have downtime"
            )
        ),
        "helm",
        "kubernetes",
        "single",
        "debug",
    ),
    case(
        "ops-docker-go-cgo-small",
        "sonnet",
        "Shrinking a cgo Go image: explain the missing dynamic loader behind the scratch error and choose between distroless, musl or static linking.",
        req(
            u(
                "our go image is 1.3GB (FROM golang:1.22, just runs the binary). want it small, but we use mattn/go-sqlite3 so cgo is on. when i tried FROM scratch for the final stage it said `exec /app/server: no such file or directory` even though the file is definitely there"
            )
        ),
        "docker",
        "go",
        "single",
        "debug",
    ),
    case(
        "ops-ps-remote-deploy-rollback",
        "sonnet",
        "A multi-server PowerShell deploy with backup, health check and rollback, with the Kerberos double-hop trap when copying from a share inside Invoke-Command.",
        req(
            u(
                r"powershell 5.1 script: for each server in servers.txt, stop the 'OrdersWorker' windows service, copy the new build from \\build01\drops\orders\<version> to D:\apps\orders (keep the previous folder as a backup), start the service, and if it isn't Running within 60s roll back from the backup. log per server, continue on failure, summary table at the end. use Invoke-Command"
            )
        ),
        "powershell",
        "single",
        "implement",
    ),
    case(
        "ops-netpol-dns-egress",
        "sonnet",
        "Default-deny egress also blocks DNS to kube-dns, and the namespace label selector may not match; diagnosis from the manifests and the error.",
        req(
            u(
                'after adding these network policies the api pods can\'t reach postgres anymore: `could not translate host name "pg.db.svc.cluster.local" to address: Temporary failure in name resolution`\n'
                + code(
                    "yaml",
                    """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: default-deny, namespace: shop }
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: api-egress-db, namespace: shop }
spec:
  podSelector: { matchLabels: { app: api } }
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: { matchLabels: { name: db } }
          podSelector: { matchLabels: { app: postgres } }
      ports:
        - port: 5432
""",
                )
            )
        ),
        "kubernetes",
        "yaml",
        "single",
        "debug",
    ),
    case(
        "ops-git-purge-leaked-key",
        "sonnet",
        "Scrubbing a file from every branch and tag with filter-repo and coordinating the force-push: a known multi-step procedure.",
        req(
            u(
                "someone committed a .env with our stripe live key 3 weeks ago. it's in main, ~10 feature branches and two release tags. the key is already rotated. how do i scrub it from history properly? github repo, 12 devs"
            )
        ),
        "git",
        "single",
        "security",
    ),
    case(
        "ops-regex-email-redos",
        "sonnet",
        "Spotting catastrophic backtracking in a nested quantifier and rewriting it: a well-known pitfall with a standard fix.",
        req(
            u(
                "is this email regex fine to run on user input in our signup api? node 20\n"
                + code(
                    "js",
                    r"""
const EMAIL = /^([a-zA-Z0-9_\-\.]+)*@([a-zA-Z0-9\-]+\.)+[a-zA-Z]{2,}$/;
""",
                )
            )
        ),
        "regex",
        "javascript",
        "single",
        "security",
    ),
]

OPUS = [
    case(
        "ops-k8s-leader-election-dup",
        "opus",
        "Leader election is not mutual exclusion: work keeps running after leadership is lost (background context), and leases need fencing or idempotent side effects.",
        req(
            u(
                "2 replicas of our controller with client-go leader election (lease 15s, renew deadline 10s, retry 2s). during a node network blip both replicas reconciled at the same time and created duplicate cloud load balancers. how is that possible and what's the fix?\n"
                + code(
                    "go",
                    """
leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
	Lock:          lock,
	LeaseDuration: 15 * time.Second,
	RenewDeadline: 10 * time.Second,
	RetryPeriod:   2 * time.Second,
	Callbacks: leaderelection.LeaderCallbacks{
		OnStartedLeading: func(_ context.Context) {
			go runReconcilers(context.Background())
		},
		OnStoppedLeading: func() {
			log.Info("lost leadership")
		},
	},
})
""",
                )
            )
        ),
        "kubernetes",
        "go",
        "single",
        "distributed",
    ),
    case(
        "ops-etcd-pdb-quorum",
        "opus",
        "Quorum reasoning under voluntary and involuntary disruptions: a PDB of 2 on 5 members leaves no margin for a failure during drains, and Ready does not mean caught up.",
        req(
            u(
                "our 5-member etcd statefulset (podManagementPolicy: Parallel) has a PDB with maxUnavailable: 2. figured that keeps quorum during node upgrades since 3 stay up. the platform team's upgrade drains 2 nodes at a time. anything wrong with that reasoning?"
            )
        ),
        "kubernetes",
        "single",
        "distributed",
    ),
    case(
        "ops-sudo-backup-script-review",
        "opus",
        "Security review of a root script on attacker-influenced input: path traversal, tar wildcard option injection from uploaded filenames, predictable /tmp output followed by chown.",
        req(
            s(EDITOR_ASSISTANT),
            u(
                "can someone sanity check this before i put it in sudoers (NOPASSWD) so the support team can trigger backups of a customer's upload dir?\n"
                + attached(
                    "/usr/local/bin/backup-uploads.sh",
                    "bash",
                    """
#!/bin/bash
# usage: sudo /usr/local/bin/backup-uploads.sh <customer>
CUSTOMER=$1
SRC=/srv/uploads/$CUSTOMER
OUT=/tmp/backup-$CUSTOMER-$(date +%F).tar.gz

cd $SRC && tar czf $OUT *
chown support:support $OUT
echo "backup written to $OUT"
""",
                )
                + "\nupload dirs are writable by the web app and customers choose their file names"
            ),
        ),
        "shell",
        "single",
        "security",
        "review",
    ),
    case(
        "ops-gha-pull-request-target",
        "opus",
        "A 'small tweak' to pull_request_target that checks out and builds fork code with secrets in reach: a CI supply-chain hole.",
        req(
            u(
                "small tweak to our preview workflow: switched from pull_request to pull_request_target so PRs from forks get the secrets and the preview deploy works for them too. anything else i need to change?\n"
                + code(
                    "yaml",
                    """
on:
  pull_request_target:
    types: [opened, synchronize]

jobs:
  preview:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: npm ci && npm run build
      - run: npx vercel deploy --prebuilt --token ${{ secrets.VERCEL_TOKEN }}
        env:
          DATABASE_URL: ${{ secrets.PREVIEW_DATABASE_URL }}
""",
                )
            )
        ),
        "github-actions",
        "yaml",
        "single",
        "security",
        "misleading",
    ),
    case(
        "ops-rds-cross-account-move",
        "opus",
        "Moving a production database with three writers under a one-minute write budget and no lost or duplicated writes: a cross-service plan with invariants.",
        req(
            u(
                "need to move our prod postgres (RDS, 2TB, unencrypted) to a new encrypted instance in a different VPC and AWS account. 3 services write to it (~1.5k writes/s), terraform manages everything. max 1 minute of write downtime, and no lost or duplicated writes. what's the plan?"
            )
        ),
        "terraform",
        "postgres",
        "single",
        "design",
        "migration",
    ),
    case(
        "ops-ingress-1s-3s-spikes",
        "opus",
        "Open-ended network latency investigation from symptoms only: 1s/3s/7s steps suggest SYN retransmits, to be traced through conntrack, SNAT and node networking.",
        req(
            s(COPILOT_LIKE),
            u(
                "since moving to k8s, ~0.3% of requests through the nginx ingress to our app take almost exactly 1s, 3s or sometimes 7s longer than normal. app logs show normal handling time. no pattern by pod or node. where do i look?"
            ),
        ),
        "kubernetes",
        "single",
        "performance",
    ),
]

CASES = [*LOCAL, *SONNET, *OPUS]
