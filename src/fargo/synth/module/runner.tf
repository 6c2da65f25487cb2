# The runner: one Step Functions state machine per stage that gives jobs on AWS the semantics
# they have under `fargo up` — overlap (skip, queue), retries with backoff, and a timeout that
# stops the task. A schedule (or `fargo run`) starts an execution with the job's parameters;
# jobs that need none of this keep a direct schedule target. Definition: runner.asl.json.

locals {
  # fargo decides per job (it can prove that a job cannot overlap); used on its own, the module
  # sends every job with retries or an overlap guard through the runner.
  runner_jobs = { for k, j in var.jobs : k => j if coalesce(j.runner, j.retries > 0 || j.overlap != "allow" || (j.compute == "fargate" && j.event_pattern != null)) }
  has_runner  = length(local.runner_jobs) > 0
  runner_name = "${local.prefix}-runner"
  runner_arn  = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.runner_name}"

  # The same values as fargo's Python (project/runner.py), checked by a test.
  runner_retry_base_seconds = 30
  runner_retry_max_seconds  = 900
  runner_queue_poll_seconds = 60
  # Time a run may take beyond the job's own timeout before the runner stops it: a Fargate task
  # provisions and pulls its image before the job's clock starts.
  runner_grace_seconds = { fargate = 600, lambda = 60 }

  # What an execution is started with, less the per-run values (run_id, scheduled_time, event).
  runner_input = { for k, j in local.runner_jobs : k => {
    job                 = k
    compute             = j.compute
    spot                = j.spot
    overlap             = j.overlap
    retries             = j.retries
    retry_timeouts      = j.retry_timeouts
    timeout_seconds     = j.timeout + local.runner_grace_seconds[j.compute]
    backoff_seconds     = local.runner_retry_base_seconds
    backoff_max_seconds = local.runner_retry_max_seconds
    queue_poll_seconds  = local.runner_queue_poll_seconds
    target = {
      Cluster         = j.compute == "fargate" ? coalesce(var.cluster_arn, local.cluster_name) : null
      TaskDefinition  = j.compute == "fargate" ? "${local.prefix}-${k}" : null
      Family          = j.compute == "fargate" ? "${local.prefix}-${k}" : null
      Group           = j.compute == "fargate" ? "${local.runner_group_prefix}${k}" : null
      PlatformVersion = j.compute == "fargate" ? var.platform_version : null
      NetworkConfiguration = j.compute == "fargate" ? { AwsvpcConfiguration = {
        Subnets        = local.job_subnets[k]
        SecurityGroups = local.job_security_groups[k]
        AssignPublicIp = var.assign_public_ip ? "ENABLED" : "DISABLED"
      } } : null
      FunctionName = j.compute == "lambda" ? "${local.prefix}-${k}" : null
    }
  } }

  # Tasks the runner starts carry their own group, so the per-task failure alert (direct jobs)
  # leaves them to the runner's once-per-run alert.
  runner_group_prefix = "fargo-runner:${local.prefix}-"

  runner_fargate = [for k, j in local.runner_jobs : k if j.compute == "fargate"]
  runner_lambda  = [for k, j in local.runner_jobs : k if j.compute == "lambda"]
  # One by one while that fits IAM's inline policy quota (as for the scheduler), else by prefix.
  runner_families = length(local.runner_fargate) <= 40 ? [for k in local.runner_fargate :
    "arn:${local.partition}:ecs:${local.region}:${local.account}:task-definition/${local.prefix}-${k}:*"
  ] : ["arn:${local.partition}:ecs:${local.region}:${local.account}:task-definition/${local.prefix}-*:*"]
  runner_passed_roles = distinct(concat(
    length(local.runner_fargate) > 0 ? [local.execution_role_arn] : [],
    length(local.runner_fargate) <= 40 ? [for k in local.runner_fargate :
    var.jobs[k].task_role_arn != null ? var.jobs[k].task_role_arn : "${local.role_arn_prefix}${k}"] : [local.role_arn_pattern],
    compact([for k in local.runner_fargate : var.jobs[k].task_role_arn]),
  ))
}

resource "aws_sfn_state_machine" "runner" {
  #checkov:skip=CKV_AWS_284:X-Ray traces request paths; every run is recorded in the stage's _runs log group instead
  #checkov:skip=CKV_AWS_285:execution status changes go to the _runs log group by an EventBridge rule (no vended-logs permissions on "*")
  count      = local.stage_part && local.has_runner ? 1 : 0
  name       = local.runner_name
  type       = "STANDARD"
  role_arn   = aws_iam_role.runner[0].arn
  definition = file("${path.module}/runner.asl.json")
  tags       = var.tags
}

data "aws_iam_policy_document" "runner_trust" {
  count = local.stage_part ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.runner_arn]
    }
  }
}

resource "aws_iam_role" "runner" {
  count              = local.stage_part && local.has_runner ? 1 : 0
  name               = local.runner_name
  path               = local.role_path
  description        = "Runs ${local.prefix} jobs with their retries, overlap and timeout"
  assume_role_policy = data.aws_iam_policy_document.runner_trust[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "runner" {
  count                   = local.stage_part && local.has_runner ? 1 : 0
  source_policy_documents = [for who, doc in data.aws_iam_policy_document.start_tasks : doc.json if who == "runner"]

  dynamic "statement" {
    for_each = length(local.runner_fargate) > 0 ? [1] : []
    content {
      sid       = "WatchAndStopJobTasks"
      actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
      resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task/${local.cluster_name}/*"]
    }
  }

  # ListTasks authorizes on container instances, which Fargate tasks have none of; the
  # cluster condition is what limits it to this stage's cluster.
  dynamic "statement" {
    for_each = length(local.runner_fargate) > 0 ? [1] : []
    content {
      sid       = "FindRunningJobTasks"
      actions   = ["ecs:ListTasks"]
      resources = ["*"]
      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [local.cluster_arn]
      }
    }
  }

  # ecs:runTask.sync learns that a task stopped from this rule, which Step Functions manages.
  dynamic "statement" {
    for_each = length(local.runner_fargate) > 0 ? [1] : []
    content {
      sid       = "SyncWithEcs"
      actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
      resources = ["arn:${local.partition}:events:${local.region}:${local.account}:rule/StepFunctionsGetEventsForECSTaskRule"]
    }
  }

  dynamic "statement" {
    for_each = length(local.runner_lambda) > 0 ? [1] : []
    content {
      sid     = "InvokeJobFunctions"
      actions = ["lambda:InvokeFunction"]
      resources = [for k in local.runner_lambda :
      "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${local.prefix}-${k}"]
    }
  }
}

resource "aws_iam_role_policy" "runner" {
  #checkov:skip=CKV_AWS_355:only ecs:ListTasks is on "*" (it has no task-level resource), limited by the ecs:cluster condition
  count  = local.stage_part && local.has_runner ? 1 : 0
  name   = local.runner_name
  role   = aws_iam_role.runner[0].id
  policy = data.aws_iam_policy_document.runner[0].json
}
