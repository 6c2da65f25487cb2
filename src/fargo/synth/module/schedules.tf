locals {
  # The ECS target of each Fargate job, the same for Scheduler and rules (and what fargo run
  # passes to RunTask): one definition, used by both blocks below.
  ecs_target = { for k, j in local.part_fargate : k => {
    task_definition_arn = aws_ecs_task_definition.job[k].arn_without_revision
    launch_type         = j.spot ? null : "FARGATE"
    capacity_providers  = j.spot ? ["FARGATE_SPOT"] : []
    group               = "family:${local.prefix}-${k}"
    subnets             = local.job_subnets[k]
    security_groups     = local.job_security_groups[k]
  } }

  # What the job sees of its invocation (Scheduler fills in the <aws.scheduler.*> attributes).
  # jsonencode writes < and > as \u003c and \u003e, where neither Scheduler nor an input
  # transformer would find a placeholder: every input below puts them back.
  scheduler_overrides = replace(replace(jsonencode({
    containerOverrides = [{
      name = "job"
      environment = [
        { name = "FARGO_SCHEDULED_TIME", value = "<aws.scheduler.scheduled-time>" },
        { name = "FARGO_ATTEMPT", value = "<aws.scheduler.attempt-number>" },
        { name = "FARGO_RUN_ID", value = "<aws.scheduler.execution-id>" },
      ]
    }]
  }), "\\u003c", "<"), "\\u003e", ">")
  scheduler_event = {
    version       = "0"
    id            = "<aws.scheduler.execution-id>"
    "detail-type" = "Scheduled Event"
    source        = "aws.scheduler"
    account       = local.account
    region        = local.region
    time          = "<aws.scheduler.scheduled-time>"
    resources     = ["<aws.scheduler.schedule-arn>"]
    detail        = {}
  }
  scheduler_lambda_event = replace(replace(jsonencode(local.scheduler_event), "\\u003c", "<"), "\\u003e", ">")
  # A job that goes through the runner: the execution's input (a Fargate job builds its
  # scheduled event from FARGO_SCHEDULED_TIME, as when it is started directly).
  scheduler_runner_input = { for k, j in local.runner_jobs : k => replace(replace(jsonencode(merge(local.runner_input[k], {
    run_id         = "<aws.scheduler.execution-id>"
    scheduled_time = "<aws.scheduler.scheduled-time>"
    # (through JSON text: the two branches are objects of different shapes)
    event = jsondecode(j.compute == "fargate" ? "{}" : jsonencode(local.scheduler_event))
  })), "\\u003c", "<"), "\\u003e", ">") }
  rules_runner_input = { for k, j in local.runner_jobs : k => replace(replace(jsonencode(merge(local.runner_input[k], {
    run_id         = "<id>"
    scheduled_time = "<time>"
    event = jsondecode(j.compute == "fargate" ? "{}" : jsonencode({
      version = "0", id = "<id>", "detail-type" = "Scheduled Event", source = "aws.events",
      account = local.account, region = local.region, time = "<time>", resources = [], detail = {}
    }))
  })), "\\u003c", "<"), "\\u003e", ">") }
  # Scheduled jobs started directly (no runner): the scheduler's own ECS or Lambda target.
  direct_jobs = { for k, j in local.scheduled_jobs : k => j if !contains(keys(local.runner_jobs), k) }
}

# --- EventBridge Scheduler (default) -------------------------------------------------------

resource "aws_scheduler_schedule_group" "this" {
  count = local.stage_part && ((local.use_scheduler && length(local.scheduled_jobs) > 0) || length(local.scheduled_workflows) > 0) ? 1 : 0
  name  = local.group_name
  tags  = merge(var.tags, { "fargo:app" = var.app_name, "fargo:stage" = var.stage })
}

resource "aws_scheduler_schedule" "job" {
  #checkov:skip=CKV_AWS_297:schedules hold no secrets; a customer managed key is opt-in through schedule_kms_key_arn
  for_each                     = local.job_part ? (local.use_scheduler ? local.scheduled_jobs : {}) : {}
  name                         = "${local.prefix}-${each.key}"
  group_name                   = local.schedule_group_name
  description                  = each.value.description
  schedule_expression          = each.value.schedule
  schedule_expression_timezone = each.value.timezone
  state                        = each.value.enabled ? "ENABLED" : "DISABLED"
  start_date                   = each.value.start_date
  end_date                     = each.value.end_date
  kms_key_arn                  = var.schedule_kms_key_arn

  flexible_time_window {
    mode                      = each.value.flexible_window_minutes == null ? "OFF" : "FLEXIBLE"
    maximum_window_in_minutes = each.value.flexible_window_minutes
  }

  target {
    arn = (contains(keys(local.runner_jobs), each.key) ? local.runner_machine_arn :
    each.value.compute == "fargate" ? local.cluster_arn : local.function_arns[each.key])
    role_arn = local.scheduler_role_arn
    input = (contains(keys(local.runner_jobs), each.key) ? local.scheduler_runner_input[each.key] :
    each.value.compute == "fargate" ? local.scheduler_overrides : local.scheduler_lambda_event)

    dynamic "ecs_parameters" {
      for_each = each.value.compute == "fargate" && !contains(keys(local.runner_jobs), each.key) ? [1] : []
      content {
        task_definition_arn     = local.ecs_target[each.key].task_definition_arn
        task_count              = 1
        launch_type             = local.ecs_target[each.key].launch_type
        platform_version        = var.platform_version
        propagate_tags          = "TASK_DEFINITION"
        enable_ecs_managed_tags = true
        group                   = local.ecs_target[each.key].group

        dynamic "capacity_provider_strategy" {
          for_each = local.ecs_target[each.key].capacity_providers
          content {
            capacity_provider = capacity_provider_strategy.value
            weight            = 1
          }
        }

        network_configuration {
          subnets          = local.ecs_target[each.key].subnets
          security_groups  = local.ecs_target[each.key].security_groups
          assign_public_ip = var.assign_public_ip
        }
      }
    }

    retry_policy {
      maximum_retry_attempts       = var.retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_seconds
    }

    dynamic "dead_letter_config" {
      for_each = local.has_dlq ? [local.dlq_arn] : []
      content {
        arn = dead_letter_config.value
      }
    }
  }

  lifecycle {
    precondition {
      condition     = each.value.compute != "fargate" || length(local.job_subnets[each.key]) > 0
      error_message = "Fargate jobs need subnets (and security_groups) to run."
    }
  }
}

# --- EventBridge rules (UTC only), for parity with rule-based setups ----------------------

resource "aws_cloudwatch_event_rule" "job" {
  for_each            = local.job_part ? (local.use_scheduler ? {} : local.scheduled_jobs) : {}
  name                = "${local.prefix}-${each.key}"
  description         = each.value.description
  schedule_expression = each.value.schedule
  state               = each.value.enabled ? "ENABLED" : "DISABLED"
  tags                = local.job_tags[each.key]

  lifecycle {
    precondition {
      condition     = each.value.timezone == "UTC" && !startswith(each.value.schedule, "at(")
      error_message = "EventBridge rules run in UTC and have no at(): use schedule_backend = \"scheduler\"."
    }
  }
}

resource "aws_cloudwatch_event_target" "job" {
  for_each  = local.job_part ? (local.use_scheduler ? {} : local.scheduled_jobs) : {}
  rule      = local.timer_rule_names[each.key]
  target_id = "job"
  arn = (contains(keys(local.runner_jobs), each.key) ? local.runner_machine_arn :
  each.value.compute == "fargate" ? local.cluster_arn : local.function_arns[each.key])
  role_arn = each.value.compute == "fargate" || contains(keys(local.runner_jobs), each.key) ? local.scheduler_role_arn : null

  dynamic "ecs_target" {
    for_each = each.value.compute == "fargate" && !contains(keys(local.runner_jobs), each.key) ? [1] : []
    content {
      task_definition_arn     = local.ecs_target[each.key].task_definition_arn
      task_count              = 1
      launch_type             = local.ecs_target[each.key].launch_type
      platform_version        = var.platform_version
      propagate_tags          = "TASK_DEFINITION"
      enable_ecs_managed_tags = true
      group                   = local.ecs_target[each.key].group

      dynamic "capacity_provider_strategy" {
        for_each = local.ecs_target[each.key].capacity_providers
        content {
          capacity_provider = capacity_provider_strategy.value
          weight            = 1
        }
      }

      network_configuration {
        subnets          = local.ecs_target[each.key].subnets
        security_groups  = local.ecs_target[each.key].security_groups
        assign_public_ip = var.assign_public_ip
      }
    }
  }

  dynamic "input_transformer" {
    for_each = contains(keys(local.runner_jobs), each.key) ? [1] : []
    content {
      input_paths    = { time = "$.time", id = "$.id" }
      input_template = local.rules_runner_input[each.key]
    }
  }

  dynamic "input_transformer" {
    for_each = each.value.compute == "fargate" && !contains(keys(local.runner_jobs), each.key) ? [1] : []
    content {
      input_paths = { time = "$.time", id = "$.id" }
      input_template = replace(replace(jsonencode({
        containerOverrides = [{
          name = "job"
          environment = [
            { name = "FARGO_SCHEDULED_TIME", value = "<time>" },
            { name = "FARGO_RUN_ID", value = "<id>" },
          ]
        }]
      }), "\\u003c", "<"), "\\u003e", ">")
    }
  }

  retry_policy {
    maximum_retry_attempts       = var.retry_attempts
    maximum_event_age_in_seconds = var.maximum_event_age_seconds
  }

  dynamic "dead_letter_config" {
    for_each = local.has_dlq ? [local.dlq_arn] : []
    content {
      arn = dead_letter_config.value
    }
  }
}

resource "aws_lambda_permission" "rule" {
  for_each      = local.job_part ? (local.use_scheduler ? {} : { for k, j in local.direct_jobs : k => j if j.compute == "lambda" }) : {}
  statement_id  = "fargo-schedule"
  action        = "lambda:InvokeFunction"
  function_name = local.function_names[each.key]
  principal     = "events.amazonaws.com"
  source_arn    = local.timer_rule_arns[each.key]
}
