# Jobs started by events: one EventBridge rule per job with an event_pattern, on the default bus.
# A Fargate job is started through the runner, which hands the whole event to the task as
# FARGO_EVENT (the runner escapes it; a rule's input transformer cannot); a Lambda job is
# invoked with the event itself, as EventBridge invokes any function.

locals {
  event_jobs        = { for k, j in var.jobs : k => j if j.event_pattern != null }
  event_runner_jobs = { for k, j in local.event_jobs : k => j if contains(keys(local.runner_jobs), k) }
  event_rule_prefix = "arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.prefix}-"
  # What the rule reads from the event for the projection (below), and the job's own fields
  # as f0, f1, ... (InputPathsMap keys are letters and digits only).
  event_field_names = { for k, j in local.event_runner_jobs : k => sort(keys(j.event_fields)) }
  event_envelope_paths = {
    id         = "$.id"
    time       = "$.time"
    source     = "$.source"
    detailtype = "$.detail-type"
    account    = "$.account"
    region     = "$.region"
    resources  = "$.resources"
  }
  event_input_paths = { for k, j in local.event_runner_jobs : k => merge(local.event_envelope_paths,
  { for i, name in local.event_field_names[k] : "f${i}" => j.event_fields[name] }) }
  # The event without its detail, plus the job's event_fields: what the runner hands the task
  # instead when the whole event does not fit ECS's 8 KB of container overrides. It says so.
  event_projection_head = join("", [
    "{\"version\":\"0\",\"id\":\"<id>\",\"time\":\"<time>\",\"source\":<source>,",
    "\"detail-type\":<detailtype>,\"account\":<account>,\"region\":<region>,",
    "\"resources\":<resources>,\"detail\":{",
  ])
  event_projection_tail = "},\"fargo_projection\":\"the event did not fit ECS's 8 KB of container overrides: its envelope and event_fields only\"}"
  event_projection = { for k, j in local.event_runner_jobs : k => join("", [
    local.event_projection_head,
    join(",", [for i, name in local.event_field_names[k] : "\"${name}\":<f${i}>"]),
    local.event_projection_tail,
  ]) }
  # The runner's input, the matched event in place of the marker (a JSON value, not a string).
  # An event is never dropped: overlap=skip makes it wait its turn (queue) instead.
  event_runner_input = { for k, j in local.event_runner_jobs : k => replace(replace(replace(replace(jsonencode(merge(local.runner_input[k], {
    run_id         = "<id>"
    scheduled_time = "<time>"
    overlap        = j.overlap == "skip" ? "queue" : j.overlap
    event          = "__FARGO_EVENT__"
    projection     = "__FARGO_PROJECTION__"
  })), "\"__FARGO_EVENT__\"", "<aws.events.event.json>"), "\"__FARGO_PROJECTION__\"", local.event_projection[k]), "\\u003c", "<"), "\\u003e", ">") }
}

resource "aws_cloudwatch_event_rule" "events" {
  for_each      = local.job_part ? local.event_jobs : {}
  name          = "${local.prefix}-${each.key}-on"
  description   = "Events that start ${local.prefix}-${each.key}"
  event_pattern = each.value.event_pattern
  state         = each.value.enabled ? "ENABLED" : "DISABLED"
  tags          = local.job_tags[each.key]
}

resource "aws_cloudwatch_event_target" "events" {
  for_each  = local.job_part ? local.event_jobs : {}
  rule      = local.event_rule_names[each.key]
  target_id = "job"
  arn       = contains(keys(local.event_runner_jobs), each.key) ? local.runner_machine_arn : local.function_arns[each.key]
  role_arn  = contains(keys(local.event_runner_jobs), each.key) ? local.event_rules_role_arn : null

  dynamic "input_transformer" {
    for_each = contains(keys(local.event_runner_jobs), each.key) ? [1] : []
    content {
      input_paths    = local.event_input_paths[each.key]
      input_template = local.event_runner_input[each.key]
    }
  }
}

resource "aws_lambda_permission" "events" {
  for_each      = local.job_part ? { for k, j in local.event_jobs : k => j if !contains(keys(local.event_runner_jobs), k) } : {}
  statement_id  = "fargo-events"
  action        = "lambda:InvokeFunction"
  function_name = local.function_names[each.key]
  principal     = "events.amazonaws.com"
  source_arn    = local.event_rule_arns[each.key]
}

# The role the event rules start the runner with: only states:StartExecution on it, assumed
# only by EventBridge for this stage's event rules.
data "aws_iam_policy_document" "event_rules_trust" {
  count = local.stage_part ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.event_rule_prefix}*-on"]
    }
  }
}

resource "aws_iam_role" "event_rules" {
  count              = local.stage_part && (length(local.event_runner_jobs) > 0) ? 1 : 0
  name               = "${local.prefix}-event-rules"
  path               = local.role_path
  description        = "Starts ${local.prefix} jobs on their events, through the runner"
  assume_role_policy = data.aws_iam_policy_document.event_rules_trust[0].json
  tags               = var.tags
}

data "aws_iam_policy_document" "event_rules" {
  count = local.stage_part && (length(local.event_runner_jobs) > 0) ? 1 : 0
  statement {
    sid       = "StartRunner"
    actions   = ["states:StartExecution"]
    resources = [local.runner_arn]
  }
}

resource "aws_iam_role_policy" "event_rules" {
  count  = local.stage_part && (length(local.event_runner_jobs) > 0) ? 1 : 0
  name   = "${local.prefix}-event-rules"
  role   = aws_iam_role.event_rules[0].id
  policy = data.aws_iam_policy_document.event_rules[0].json
}
