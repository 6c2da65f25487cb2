# The stage's watchdog: ECS has no start deadline and no task timeout, so a Lambda function
# (fargo package writes its zip) stops every few minutes the stage's tasks that are still
# pending past var.pending_limit_seconds, or running past their job's timeout, and alerts.

locals {
  watchdog      = local.stage_part && var.watchdog_package != null && local.watch_tasks
  watchdog_name = "${local.prefix}-watchdog"
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
  statement {
    sid       = "ListStageTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }
  statement {
    sid       = "StopStuckTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task/${local.cluster_name}/*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }
  # DescribeTaskDefinition supports no resource-level permission (the job's timeout is read
  # from its task definition's FARGO_TIMEOUT).
  statement {
    sid       = "ReadJobTimeouts"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"]
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
  description      = "Stops ${local.prefix}'s tasks stuck in PENDING or running past their timeout"
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
      FARGO_CLUSTER       = local.cluster_arn
      FARGO_PENDING_LIMIT = tostring(var.pending_limit_seconds)
      FARGO_ALERT_TOPIC   = local.has_alerts ? local.alert_topic : ""
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
