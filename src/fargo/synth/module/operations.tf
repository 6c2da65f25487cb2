# Run records and failure alerts. ECS forgets stopped tasks after about an hour and scheduled
# tasks that never start fail silently, so both are recorded from ECS Task State Change events.

locals {
  group_prefix   = "family:${local.prefix}-"
  runs_log_group = "/fargo/${var.app_name}/${var.stage}/_runs"
  alert_topic    = var.create_alert_topic ? one(aws_sns_topic.alerts[*].arn) : var.alert_topic_arn
  watch_tasks    = length(local.fargate_jobs) > 0 || local.has_runner
  # ECS Task State Change to STOPPED, for this stage's cluster and task groups (started
  # directly, or by the runner).
  stopped_tasks = {
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Task State Change"]
    detail = {
      clusterArn = [local.cluster_arn]
      group      = [{ prefix = local.group_prefix }, { prefix = local.runner_group_prefix }]
      lastStatus = ["STOPPED"]
    }
  }
  # Runs of the runner that ended: a run's outcome after all its attempts, or its skip.
  runner_executions = {
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      stateMachineArn = [local.runner_arn]
      status          = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
    }
  }
  runs_rules = concat(aws_cloudwatch_event_rule.runs[*].arn, aws_cloudwatch_event_rule.runner_runs[*].arn)
}

resource "aws_cloudwatch_log_group" "runs" {
  #checkov:skip=CKV_AWS_158:KMS encryption is opt-in through log_kms_key_arn (the key's policy must allow CloudWatch Logs)
  #checkov:skip=CKV_AWS_338:run records are kept runs_retention_days (default 90)
  count             = local.stage_part && (var.record_runs && local.watch_tasks) ? 1 : 0
  name              = local.runs_log_group
  retention_in_days = var.runs_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_event_rule" "runs" {
  count         = local.stage_part && (var.record_runs && length(local.fargate_jobs) > 0) ? 1 : 0
  name          = "${local.prefix}-runs"
  description   = "Stopped tasks of ${local.prefix}, recorded for fargo history"
  event_pattern = jsonencode(local.stopped_tasks)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "runs" {
  count     = local.stage_part && (var.record_runs && length(local.fargate_jobs) > 0) ? 1 : 0
  rule      = aws_cloudwatch_event_rule.runs[0].name
  target_id = "runs-log"
  arn       = aws_cloudwatch_log_group.runs[0].arn
}

resource "aws_cloudwatch_event_rule" "runner_runs" {
  count         = local.stage_part && (var.record_runs && local.has_runner) ? 1 : 0
  name          = "${local.prefix}-runner-runs"
  description   = "Ended runs of ${local.prefix}'s runner, recorded for fargo history"
  event_pattern = jsonencode(local.runner_executions)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "runner_runs" {
  count     = local.stage_part && (var.record_runs && local.has_runner) ? 1 : 0
  rule      = aws_cloudwatch_event_rule.runner_runs[0].name
  target_id = "runs-log"
  arn       = aws_cloudwatch_log_group.runs[0].arn
}

data "aws_iam_policy_document" "runs_delivery" {
  count = local.stage_part && (var.record_runs && local.watch_tasks) ? 1 : 0
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.runs[0].arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = local.runs_rules
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "runs" {
  count           = local.stage_part && (var.record_runs && local.watch_tasks) ? 1 : 0
  policy_name     = "${local.prefix}-runs"
  policy_document = data.aws_iam_policy_document.runs_delivery[0].json
}

# --- alerts ---------------------------------------------------------------------------------

resource "aws_sns_topic" "alerts" {
  #checkov:skip=CKV_AWS_26:EventBridge can publish to an encrypted topic only with a customer managed key; set log_kms_key_arn to use one
  count             = local.stage_part && var.create_alert_topic ? 1 : 0
  name              = "${local.prefix}-alerts"
  kms_master_key_id = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alerts" {
  for_each  = local.stage_part ? (var.create_alert_topic ? toset(var.alert_emails) : toset([])) : toset([])
  topic_arn = aws_sns_topic.alerts[0].arn
  protocol  = "email"
  endpoint  = each.value
}

data "aws_iam_policy_document" "alerts" {
  count = local.stage_part && var.create_alert_topic ? 1 : 0
  statement {
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alerts[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    # Only this stage's failure rule and dead-letter alarm may publish.
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values = [
        "arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.prefix}-failures",
        "arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.prefix}-runner-failures",
        "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${local.prefix}-dead-letters",
      ]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  count  = local.stage_part && var.create_alert_topic ? 1 : 0
  arn    = aws_sns_topic.alerts[0].arn
  policy = data.aws_iam_policy_document.alerts[0].json
}

resource "aws_cloudwatch_event_rule" "failures" {
  count       = local.stage_part && (local.has_alerts && length(local.fargate_jobs) > 0) ? 1 : 0
  name        = "${local.prefix}-failures"
  description = "Tasks of ${local.prefix} that failed to start, were interrupted or exited non-zero"
  # Exit codes are absent when a container never started (image pull, secrets), so stop codes
  # are matched too.
  event_pattern = jsonencode(merge(local.stopped_tasks, {
    detail = merge(local.stopped_tasks.detail, {
      group = [{ prefix = local.group_prefix }] # not the runner's tasks: it alerts per run
      "$or" = [
        { stopCode = ["TaskFailedToStart", "SpotInterruption", "TerminationNotice", "InfrastructureHealth"] },
        { containers = { exitCode = [{ "anything-but" = 0 }] } },
      ]
    })
  }))
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "failures" {
  count     = local.stage_part && (local.has_alerts && length(local.fargate_jobs) > 0) ? 1 : 0
  rule      = aws_cloudwatch_event_rule.failures[0].name
  target_id = "alerts"
  arn       = local.alert_topic

  input_transformer {
    input_paths = {
      group  = "$.detail.group"
      task   = "$.detail.taskArn"
      code   = "$.detail.stopCode"
      reason = "$.detail.stoppedReason"
      exit   = "$.detail.containers[0].exitCode"
    }
    input_template = "\"fargo ${local.prefix}: <group> stopped (exit <exit>, <code>): <reason> - <task>\""
  }
}

# A run through the runner alerts once, when its last attempt failed (not once per attempt).
resource "aws_cloudwatch_event_rule" "runner_failures" {
  count       = local.stage_part && (local.has_alerts && local.has_runner) ? 1 : 0
  name        = "${local.prefix}-runner-failures"
  description = "Runs of ${local.prefix} jobs that failed after their last attempt, or timed out"
  event_pattern = jsonencode(merge(local.runner_executions, {
    detail = merge(local.runner_executions.detail, { status = ["FAILED", "TIMED_OUT", "ABORTED"] })
  }))
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "runner_failures" {
  count     = local.stage_part && (local.has_alerts && local.has_runner) ? 1 : 0
  rule      = aws_cloudwatch_event_rule.runner_failures[0].name
  target_id = "alerts"
  arn       = local.alert_topic

  input_transformer {
    input_paths = {
      status    = "$.detail.status"
      error     = "$.detail.error"
      cause     = "$.detail.cause"
      execution = "$.detail.executionArn"
    }
    input_template = "\"fargo ${local.prefix}: run <status> (<error>): <cause> - <execution>\""
  }
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  count               = local.stage_part && (local.has_dlq && local.has_alerts) ? 1 : 0
  alarm_name          = "${local.prefix}-dead-letters"
  alarm_description   = "Schedule invocations of ${local.prefix} that could not be delivered"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.create_dead_letter_queue ? "${local.prefix}-dead-letter" : element(split(":", coalesce(var.dead_letter_queue_arn, "::::")), 5) }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [local.alert_topic]
  ok_actions          = [local.alert_topic]
  tags                = var.tags
}
