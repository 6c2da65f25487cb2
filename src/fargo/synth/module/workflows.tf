# Workflows of jobs: one Step Functions state machine each, <app>-<stage>-<workflow>, whose
# definition fargo writes (Fargate steps call back with a task token, Lambda steps are invoked);
# one role for the stage's workflows, a schedule per scheduled workflow, an alert per failed
# execution, and the callback permission for exactly the jobs that are steps.

locals {
  workflow_arns = { for k, w in var.workflows : k =>
  "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.prefix}-${k}" }
  workflow_fargate      = distinct(flatten([for w in var.workflows : w.fargate_jobs]))
  workflow_lambda       = distinct(flatten([for w in var.workflows : w.lambda_jobs]))
  scheduled_workflows   = { for k, w in var.workflows : k => w if w.schedule != null }
  workflow_group_prefix = "fargo-workflow:${local.prefix}-"
  workflow_families = [for k in local.workflow_fargate :
  "arn:${local.partition}:ecs:${local.region}:${local.account}:task-definition/${local.prefix}-${k}:*"]
  workflow_passed_roles = distinct(concat(
    length(local.workflow_fargate) > 0 ? [local.execution_role_arn] : [],
    [for k in local.workflow_fargate :
    var.jobs[k].task_role_arn != null ? var.jobs[k].task_role_arn : "${local.role_arn_prefix}${k}"],
  ))
  # job -> the workflows it is a step of, fargo's and the team's own (step_of): its role may
  # answer their task tokens
  step_of = { for k, j in local.fargate_jobs : k => distinct(concat(j.step_of, [
    for w, flow in var.workflows : local.workflow_arns[w] if contains(flow.fargate_jobs, k)
  ])) if length(j.step_of) > 0 || contains(local.workflow_fargate, k) }
}

data "aws_iam_policy_document" "workflows_trust" {
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
      values   = length(var.workflows) > 0 ? values(local.workflow_arns) : ["none"]
    }
  }
}

resource "aws_iam_role" "workflows" {
  count              = local.stage_part && (length(var.workflows) > 0) ? 1 : 0
  name               = "${local.prefix}-workflows"
  path               = local.role_path
  description        = "Runs the steps of ${local.prefix}'s workflows"
  assume_role_policy = data.aws_iam_policy_document.workflows_trust[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "workflows" {
  count                   = local.stage_part && (length(var.workflows) > 0) ? 1 : 0
  source_policy_documents = [for who, doc in data.aws_iam_policy_document.start_tasks : doc.json if who == "workflows"]

  dynamic "statement" {
    for_each = length(local.workflow_lambda) > 0 ? [1] : []
    content {
      sid     = "InvokeStepFunctions"
      actions = ["lambda:InvokeFunction"]
      resources = [for k in local.workflow_lambda :
      "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${local.prefix}-${k}"]
    }
  }
}

resource "aws_iam_role_policy" "workflows" {
  count  = local.stage_part && (length(var.workflows) > 0) ? 1 : 0
  name   = "${local.prefix}-workflows"
  role   = aws_iam_role.workflows[0].id
  policy = data.aws_iam_policy_document.workflows[0].json
}

resource "aws_sfn_state_machine" "workflow" {
  #checkov:skip=CKV_AWS_284:X-Ray traces request paths; executions are recorded by the _runs rule
  #checkov:skip=CKV_AWS_285:execution status changes go to the _runs log group by an EventBridge rule (no vended-logs permissions on "*")
  for_each   = local.stage_part ? (var.workflows) : {}
  name       = "${local.prefix}-${each.key}"
  type       = "STANDARD"
  role_arn   = aws_iam_role.workflows[0].arn
  definition = each.value.definition
  tags       = merge(var.tags, { "fargo:app" = var.app_name, "fargo:stage" = var.stage, "fargo:workflow" = each.key })
}

# A step's task answers its task token: SendTask* on exactly the workflows it is a step of.
data "aws_iam_policy_document" "step_callback" {
  for_each = local.job_part ? { for k, arns in local.step_of : k => arns if var.jobs[k].task_role_arn == null } : {}
  statement {
    sid       = "AnswerWorkflow"
    actions   = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
    resources = each.value
  }
}

resource "aws_iam_role_policy" "step_callback" {
  for_each = data.aws_iam_policy_document.step_callback
  name     = "${local.prefix}-${each.key}-workflow-steps"
  role     = local.task_role_ids[each.key]
  policy   = each.value.json
}

# --- starting scheduled workflows -----------------------------------------------------------

data "aws_iam_policy_document" "workflow_start_trust" {
  count = local.stage_part ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.group_arn]
    }
  }
}

resource "aws_iam_role" "workflow_start" {
  count              = local.stage_part && (length(local.scheduled_workflows) > 0) ? 1 : 0
  name               = "${local.prefix}-wf-start"
  path               = local.role_path
  description        = "Starts the scheduled workflows of ${local.prefix}"
  assume_role_policy = data.aws_iam_policy_document.workflow_start_trust[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "workflow_start" {
  count = local.stage_part && (length(local.scheduled_workflows) > 0) ? 1 : 0
  statement {
    sid       = "StartWorkflows"
    actions   = ["states:StartExecution"]
    resources = [for k, w in local.scheduled_workflows : local.workflow_arns[k]]
  }
}

resource "aws_iam_role_policy" "workflow_start" {
  count  = local.stage_part && (length(local.scheduled_workflows) > 0) ? 1 : 0
  name   = "${local.prefix}-wf-start"
  role   = aws_iam_role.workflow_start[0].id
  policy = data.aws_iam_policy_document.workflow_start[0].json
}

resource "aws_scheduler_schedule" "workflow" {
  #checkov:skip=CKV_AWS_297:schedules hold no secrets; a customer managed key is opt-in through schedule_kms_key_arn
  for_each                     = local.stage_part ? (local.scheduled_workflows) : {}
  name                         = "${local.prefix}-${each.key}"
  group_name                   = aws_scheduler_schedule_group.this[0].name
  description                  = each.value.description
  schedule_expression          = each.value.schedule
  schedule_expression_timezone = each.value.timezone
  state                        = each.value.enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = var.schedule_kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = local.workflow_arn_of[each.key]
    role_arn = aws_iam_role.workflow_start[0].arn
    input    = "{}"
    retry_policy {
      maximum_event_age_in_seconds = var.maximum_event_age_seconds
      maximum_retry_attempts       = var.retry_attempts
    }
  }
}

# --- a failed execution alerts once ---------------------------------------------------------

resource "aws_cloudwatch_event_rule" "workflow_failures" {
  count       = local.stage_part && (local.has_alerts && length(var.workflows) > 0) ? 1 : 0
  name        = "${local.prefix}-workflow-failures"
  description = "Executions of ${local.prefix}'s workflows that failed, timed out or were stopped"
  event_pattern = jsonencode({
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      stateMachineArn = values(local.workflow_arns)
      status          = ["FAILED", "TIMED_OUT", "ABORTED"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "workflow_failures" {
  count     = local.stage_part && (local.has_alerts && length(var.workflows) > 0) ? 1 : 0
  rule      = aws_cloudwatch_event_rule.workflow_failures[0].name
  target_id = "alerts"
  arn       = local.alert_topic

  input_transformer {
    input_paths = {
      status    = "$.detail.status"
      error     = "$.detail.error"
      cause     = "$.detail.cause"
      execution = "$.detail.executionArn"
    }
    input_template = "\"fargo ${local.prefix}: workflow <status> (<error>): <cause> - <execution>\""
  }
}
