# Read once per stage: instances with part = "jobs" take them from var.stage_refs.
data "aws_caller_identity" "current" {
  count = local.stage_part ? 1 : 0
}
data "aws_region" "current" {
  count = local.stage_part ? 1 : 0
}
data "aws_partition" "current" {
  count = local.stage_part ? 1 : 0
}

locals {
  prefix    = "${var.app_name}-${var.stage}"
  account   = local.stage_part ? data.aws_caller_identity.current[0].account_id : var.stage_refs.account
  region    = local.stage_part ? data.aws_region.current[0].name : var.stage_refs.region
  partition = local.stage_part ? data.aws_partition.current[0].partition : var.stage_refs.partition
  role_path = "/fargo/${var.app_name}/${var.stage}/"

  fargate_jobs   = { for k, j in var.jobs : k => j if j.compute == "fargate" }
  lambda_jobs    = { for k, j in var.jobs : k => j if j.compute == "lambda" }
  scheduled_jobs = { for k, j in var.jobs : k => j if j.schedule != null }
  use_scheduler  = var.schedule_backend == "scheduler"

  # Which resources this instance of the module creates (variables.tf, `part`).
  stage_part   = var.part != "jobs"
  job_part     = var.part != "stage"
  part_jobs    = local.job_part ? var.jobs : {}
  part_fargate = local.job_part ? local.fargate_jobs : {}

  # An existing cluster may be given by ARN (var.cluster_arn) or name (var.cluster_name).
  cluster_name = var.cluster_arn != null ? element(split("/", var.cluster_arn), 1) : coalesce(var.cluster_name, local.prefix)
  cluster_arn  = var.cluster_arn != null ? var.cluster_arn : "arn:${local.partition}:ecs:${local.region}:${local.account}:cluster/${local.cluster_name}"
  group_name   = local.prefix
  group_arn    = "arn:${local.partition}:scheduler:${local.region}:${local.account}:schedule-group/${local.group_name}"
  dlq_arn      = !local.stage_part ? var.stage_refs.dead_letter_queue_arn : var.create_dead_letter_queue ? aws_sqs_queue.dead_letter[0].arn : var.dead_letter_queue_arn
  # Known at plan time (counts and dynamic blocks must not depend on ARNs made at apply).
  has_dlq    = var.create_dead_letter_queue || var.dead_letter_queue_arn != null
  has_alerts = var.create_alert_topic || var.alert_topic_arn != null

  # Task definition families the scheduler starts directly (jobs without the runner). Listed
  # one by one while that fits IAM's 10,240-character inline policy quota; beyond that, the
  # <app>-<stage>- prefix.
  direct_fargate = { for k, j in local.fargate_jobs : k => j if j.schedule != null && !contains(keys(local.runner_jobs), k) }
  direct_families = length(local.direct_fargate) <= 40 ? [
    for k, j in local.direct_fargate : "arn:${local.partition}:ecs:${local.region}:${local.account}:task-definition/${local.prefix}-${k}:*"
  ] : ["arn:${local.partition}:ecs:${local.region}:${local.account}:task-definition/${local.prefix}-*:*"]

  # Secrets: SSM parameter names/ARNs and Secrets Manager ARNs (without JSON key/version suffix).
  secret_refs = distinct(flatten([for k, j in local.fargate_jobs : values(j.secrets)]))
  ssm_arns = [for r in local.secret_refs : (
    startswith(r, "arn:") ? r : "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter/${trimprefix(r, "/")}"
  ) if !can(regex("^arn:[^:]+:secretsmanager:", r))]
  secretsmanager_arns = distinct([for r in local.secret_refs : join(":", slice(split(":", r), 0, 7))
  if can(regex("^arn:[^:]+:secretsmanager:", r))])

  # ECR repository of the image, when it is one (pull permissions are scoped to it).
  ecr_match      = var.image == null ? null : try(regex("^([0-9]{12})\\.dkr\\.ecr\\.([a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/([^:@]+)", var.image), null)
  ecr_repository = local.ecr_match == null ? null : "arn:${local.partition}:ecr:${local.ecr_match[1]}:${local.ecr_match[0]}:repository/${local.ecr_match[2]}"

  # Per job: its network (the job's own, else the stage's) and its role (an existing one, else
  # the one created here).
  job_subnets         = { for k, j in var.jobs : k => j.subnets != null ? j.subnets : var.subnets }
  job_security_groups = { for k, j in var.jobs : k => j.security_groups != null ? j.security_groups : var.security_groups }
  created_task_roles  = { for k, j in local.fargate_jobs : k => j if j.task_role_arn == null }
  created_fn_roles    = { for k, j in local.lambda_jobs : k => j if j.task_role_arn == null }
  execution_role_arn = var.execution_role_arn != null ? var.execution_role_arn : !local.stage_part ? var.stage_refs.execution_role_arn : (
  length(local.fargate_jobs) > 0 ? aws_iam_role.execution[0].arn : null)
  # Roles given by ARN that the scheduler must be allowed to pass to ECS.
  given_roles = distinct(compact(concat([var.execution_role_arn], [for k, j in local.direct_fargate : j.task_role_arn])))

  job_tags = { for k, j in var.jobs : k => merge(var.tags, j.tags, {
    "fargo:app"   = var.app_name
    "fargo:stage" = var.stage
    "fargo:job"   = k
  }) }
}

# --- cluster, repository --------------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  #checkov:skip=CKV_AWS_65:Container Insights costs per task; enable it with container_insights = true
  count = local.stage_part && (var.create_cluster && length(local.fargate_jobs) > 0) ? 1 : 0
  name  = local.cluster_name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  tags = merge(var.tags, { "fargo:app" = var.app_name, "fargo:stage" = var.stage })
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  count              = local.stage_part && (var.create_cluster && length(local.fargate_jobs) > 0) ? 1 : 0
  cluster_name       = aws_ecs_cluster.this[0].name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]
}

# The image repository belongs to the app, not to a stage: every stage of the app pulls from
# it, so no stage creates or destroys it (fargo build --push creates it once). Stages deployed
# by an earlier version of this module that created it keep it: it leaves their state only.
removed {
  from = aws_ecr_repository.this

  lifecycle {
    destroy = false
  }
}

# --- logs -----------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "job" {
  #checkov:skip=CKV_AWS_158:KMS encryption is opt-in through log_kms_key_arn (the key's policy must allow CloudWatch Logs)
  #checkov:skip=CKV_AWS_338:retention is each job's log_retention_days (default 30); ETL run logs rarely need a year
  for_each          = local.part_jobs
  name              = each.value.compute == "lambda" ? "/aws/lambda/${local.prefix}-${each.key}" : "/fargo/${var.app_name}/${var.stage}/${each.key}"
  retention_in_days = each.value.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.job_tags[each.key]
}

# --- dead-letter queue ----------------------------------------------------------------------

# EventBridge rules deliver to a dead-letter queue as the events service, which needs the
# queue's permission (Scheduler sends with its execution role, which has sqs:SendMessage).
data "aws_iam_policy_document" "dead_letter" {
  count = local.stage_part && (var.create_dead_letter_queue && !local.use_scheduler) ? 1 : 0
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter[0].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.prefix}-*"]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  count     = local.stage_part && (var.create_dead_letter_queue && !local.use_scheduler) ? 1 : 0
  queue_url = aws_sqs_queue.dead_letter[0].id
  policy    = data.aws_iam_policy_document.dead_letter[0].json
}

resource "aws_sqs_queue" "dead_letter" {
  count                     = local.stage_part && var.create_dead_letter_queue ? 1 : 0
  name                      = "${local.prefix}-dead-letter"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = var.log_kms_key_arn == null
  kms_master_key_id         = var.log_kms_key_arn
  tags                      = var.tags
}
