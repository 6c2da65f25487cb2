# The stage's watchdog: ECS has no start deadline and no task timeout, so a Lambda function
# (fargo package writes its zip) stops every few minutes the stage's tasks that are still
# pending past var.pending_limit_seconds, or running past their job's timeout, and alerts.
# It also checks the deadlines of var.deadline_checks and alerts once per slot that missed one.

locals {
  watchdog      = local.stage_part && var.watchdog_package != null && (local.watch_tasks || length(var.deadline_checks) > 0)
  watchdog_name = "${local.prefix}-watchdog"
  # What the deadline checks read: the _runs records, Lambda jobs' logs, workflows' executions,
  # and each schedule's state (a paused one owes nothing).
  deadline_records   = length([for k, v in var.deadline_checks : k if contains(["ecs", "runner"], v)]) > 0
  deadline_logs      = [for k, v in var.deadline_checks : "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${local.prefix}-${k}:*" if v == "lambda"]
  deadline_flows     = [for k, v in var.deadline_checks : "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.prefix}-${k}" if v == "workflow"]
  deadline_schedules = [for k, v in var.deadline_checks : "arn:${local.partition}:scheduler:${local.region}:${local.account}:schedule/${local.group_name}/${local.prefix}-${k}" if v == "workflow" || local.use_scheduler]
  deadline_rules     = [for k, v in var.deadline_checks : "arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.prefix}-${k}" if v != "workflow" && !local.use_scheduler]
}

resource "aws_cloudwatch_log_group" "watchdog" {
  #checkov:skip=CKV_AWS_158:KMS encryption is opt-in through log_kms_key_arn (the key's policy must allow CloudWatch Logs)
  #checkov:skip=CKV_AWS_338:the watchdog's own log is kept runs_retention_days (default 90)
  count             = local.watchdog ? 1 : 0
  name              = "/aws/lambda/${local.watchdog_name}"
  retention_in_days = var.runs_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "watchdog" {
  count              = local.watchdog ? 1 : 0
  name               = local.watchdog_name
  path               = local.role_path
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json # iam.tf
  tags               = var.tags
}

data "aws_iam_policy_document" "watchdog" {
  count = local.watchdog ? 1 : 0
  # ListTasks names no resource; the condition holds it to the stage's cluster.
  dynamic "statement" {
    for_each = local.watch_tasks ? [1] : []
    content {
      sid       = "ListStageTasks"
      actions   = ["ecs:ListTasks"]
      resources = ["*"]
      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [local.cluster_arn]
      }
    }
  }
  dynamic "statement" {
    for_each = local.watch_tasks ? [1] : []
    content {
      sid       = "StopStuckTasks"
      actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
      resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task/${local.cluster_name}/*"]
      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [local.cluster_arn]
      }
    }
  }
  # DescribeTaskDefinition supports no resource-level permission (the job's timeout is read
  # from its task definition's FARGO_TIMEOUT).
  dynamic "statement" {
    for_each = local.watch_tasks ? [1] : []
    content {
      sid       = "ReadJobTimeouts"
      actions   = ["ecs:DescribeTaskDefinition"]
      resources = ["*"]
    }
  }
  dynamic "statement" {
    for_each = local.deadline_records || length(local.deadline_logs) > 0 ? [1] : []
    content {
      sid     = "ReadRunsForDeadlines"
      actions = ["logs:FilterLogEvents"]
      resources = concat(local.deadline_records ? ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.runs_log_group}:*"] : [],
      local.deadline_logs)
    }
  }
  dynamic "statement" {
    for_each = length(local.deadline_flows) > 0 ? [1] : []
    content {
      sid       = "ReadExecutionsForDeadlines"
      actions   = ["states:ListExecutions"]
      resources = local.deadline_flows
    }
  }
  dynamic "statement" {
    for_each = length(local.deadline_schedules) > 0 ? [1] : []
    content {
      sid       = "ReadSchedulesForDeadlines"
      actions   = ["scheduler:GetSchedule"]
      resources = local.deadline_schedules
    }
  }
  dynamic "statement" {
    for_each = length(local.deadline_rules) > 0 ? [1] : []
    content {
      sid       = "ReadRulesForDeadlines"
      actions   = ["events:DescribeRule"]
      resources = local.deadline_rules
    }
  }
  statement {
    sid       = "OwnLog"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.watchdog[0].arn}:*"]
  }
  dynamic "statement" {
    for_each = local.has_alerts ? [1] : []
    content {
      sid       = "Alert"
      actions   = ["sns:Publish"]
      resources = [local.alert_topic]
    }
  }
}

resource "aws_iam_role_policy" "watchdog" {
  count  = local.watchdog ? 1 : 0
  name   = local.watchdog_name
  role   = aws_iam_role.watchdog[0].id
  policy = data.aws_iam_policy_document.watchdog[0].json
}

resource "aws_lambda_function" "watchdog" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing is for request paths; the watchdog logs one JSON line per run
  #checkov:skip=CKV_AWS_116:invoked every few minutes by a rule; a missed run is made up by the next
  #checkov:skip=CKV_AWS_117:it calls only the ECS and SNS APIs and needs no VPC
  #checkov:skip=CKV_AWS_115:one invocation every few minutes needs no reserved concurrency
  #checkov:skip=CKV_AWS_173:its environment holds names, not secrets
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile owned by the team; the zip is hashed by source_code_hash
  count            = local.watchdog ? 1 : 0
  function_name    = local.watchdog_name
  description      = "Stops ${local.prefix}'s tasks stuck in PENDING or running past their timeout; checks deadlines"
  role             = aws_iam_role.watchdog[0].arn
  handler          = "fargo_watchdog.handler"
  runtime          = var.watchdog_runtime
  filename         = var.watchdog_package
  source_code_hash = filebase64sha256(var.watchdog_package)
  memory_size      = 128
  timeout          = 120
  environment {
    variables = {
      FARGO_PREFIX        = local.prefix
      FARGO_CLUSTER       = local.watch_tasks ? local.cluster_arn : ""
      FARGO_PENDING_LIMIT = tostring(var.pending_limit_seconds)
      FARGO_ALERT_TOPIC   = local.has_alerts ? local.alert_topic : ""
      FARGO_RUNS_GROUP    = local.runs_log_group
      FARGO_CHECK_EVERY   = tostring(var.watchdog_every_minutes * 60)
    }
  }
  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.watchdog, aws_iam_role_policy.watchdog]
}

resource "aws_cloudwatch_event_rule" "watchdog" {
  count               = local.watchdog ? 1 : 0
  name                = local.watchdog_name
  description         = "Runs ${local.prefix}'s watchdog"
  schedule_expression = "rate(${var.watchdog_every_minutes} minutes)"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "watchdog" {
  count     = local.watchdog ? 1 : 0
  rule      = aws_cloudwatch_event_rule.watchdog[0].name
  target_id = "watchdog"
  arn       = aws_lambda_function.watchdog[0].arn
}

resource "aws_lambda_permission" "watchdog" {
  count         = local.watchdog ? 1 : 0
  statement_id  = "watchdog-rule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.watchdog[0].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.watchdog[0].arn
}
