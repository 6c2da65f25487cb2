output "cluster_arn" {
  description = "ECS cluster of the Fargate jobs."
  value       = length(local.fargate_jobs) > 0 ? local.cluster_arn : null
}

output "schedule_group" {
  description = "EventBridge Scheduler group of the stage (scheduler backend)."
  value       = local.use_scheduler && length(local.scheduled_jobs) > 0 ? local.group_name : null
}

output "execution_role_arn" {
  description = "The execution role of the Fargate jobs (created, or the one given)."
  value       = local.execution_role_arn
}

output "scheduler_role_arn" {
  description = "The role EventBridge Scheduler (or rules) assumes to start the stage's jobs."
  value       = local.scheduler_role_arn
}

output "dead_letter_queue_arn" {
  description = "The SQS queue of invocations that could not be delivered, if any."
  value       = local.dlq_arn
}

output "network" {
  description = "What a one-off run of a job needs (fargo run uses it)."
  value = {
    subnets          = var.subnets
    security_groups  = var.security_groups
    assign_public_ip = var.assign_public_ip
    platform_version = var.platform_version
  }
}

output "jobs" {
  description = "Per job: what fargo (or a script) needs to find and operate it."
  value = { for k, j in local.part_jobs : k => {
    compute         = j.compute
    name            = "${local.prefix}-${k}"
    log_group       = aws_cloudwatch_log_group.job[k].name
    family          = j.compute == "fargate" ? aws_ecs_task_definition.job[k].family : null
    task_definition = j.compute == "fargate" ? aws_ecs_task_definition.job[k].arn : null
    task_role_arn   = j.task_role_arn != null ? j.task_role_arn : (j.compute == "fargate" ? aws_iam_role.task[k].arn : aws_iam_role.function[k].arn)
    function_name   = j.compute == "lambda" ? aws_lambda_function.job[k].function_name : null
    schedule        = j.schedule
    timezone        = j.timezone
    spot            = j.spot
    schedule_name   = j.schedule == null ? null : "${local.prefix}-${k}"
    runner          = contains(keys(local.runner_jobs), k)
  } }
}

output "runner_arn" {
  description = "The stage's runner state machine (jobs with retries or an overlap guard go through it), if any."
  value       = local.runner_machine_arn
}

output "runs_log_group" {
  description = "Where stopped tasks are recorded (fargo history reads it)."
  value       = var.record_runs && local.watch_tasks ? local.runs_log_group : null
}

output "alert_topic_arn" {
  description = "The SNS topic that receives failed runs and dead-letter alarms, if any."
  value       = local.alert_topic
}

output "stage_refs" {
  description = "What instances with part = \"jobs\" take as var.stage_refs (part \"stage\" or \"all\")."
  value = {
    execution_role_arn    = local.execution_role_arn
    scheduler_role_arn    = local.scheduler_role_arn
    schedule_group        = local.schedule_group_name
    runner_arn            = local.runner_machine_arn
    event_rules_role_arn  = local.event_rules_role_arn
    dead_letter_queue_arn = local.dlq_arn
    account               = local.account
    region                = local.region
    partition             = local.partition
  }
}
