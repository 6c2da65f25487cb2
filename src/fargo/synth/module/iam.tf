# One execution role and one scheduler (or events) role per stage, a task role per job: hundreds
# of jobs must not mean hundreds of shared roles. Every role lives under /fargo/<app>/<stage>/,
# which lets iam:PassRole name exactly this stage's roles with one ARN pattern.

locals {
  role_arn_pattern = "arn:${local.partition}:iam::${local.account}:role${local.role_path}*"
  role_arn_prefix  = "arn:${local.partition}:iam::${local.account}:role${local.role_path}${local.prefix}-"
  # The roles the scheduler hands to ECS: the execution role and the task roles of scheduled
  # jobs, one by one while that fits IAM's inline policy quota, else the stage's role path.
  scheduled_task_roles = [for k, j in local.created_task_roles : "${local.role_arn_prefix}${k}" if contains(keys(local.direct_fargate), k)]
  passed_roles = length(local.scheduled_task_roles) <= 40 ? concat(
    var.execution_role_arn == null ? ["${local.role_arn_prefix}exec"] : [],
    local.scheduled_task_roles,
  ) : [local.role_arn_pattern]
}

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account}:*"]
    }
  }
}

resource "aws_iam_role" "execution" {
  count              = local.stage_part && (length(local.fargate_jobs) > 0 && var.execution_role_arn == null) ? 1 : 0
  name               = "${local.prefix}-exec"
  path               = local.role_path
  description        = "Pulls the image, writes logs and reads the secrets of ${local.prefix} jobs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  count = local.stage_part && (length(local.fargate_jobs) > 0 && var.execution_role_arn == null) ? 1 : 0

  dynamic "statement" {
    for_each = local.ecr_repository == null ? [] : [1]
    content {
      sid = "PullImage"
      actions = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
      "ecr:BatchGetImage"]
      resources = [local.ecr_repository]
    }
  }

  dynamic "statement" {
    for_each = local.ecr_repository == null ? [] : [1]
    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"] # the action has no resource-level permissions
    }
  }

  statement {
    sid       = "WriteJobLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/fargo/${var.app_name}/${var.stage}/*:*"]
  }

  dynamic "statement" {
    for_each = length(local.ssm_arns) > 0 ? [1] : []
    content {
      sid       = "ReadParameters"
      actions   = ["ssm:GetParameters"]
      resources = local.ssm_arns
    }
  }

  dynamic "statement" {
    for_each = length(local.secretsmanager_arns) > 0 ? [1] : []
    content {
      sid     = "ReadSecrets"
      actions = ["secretsmanager:GetSecretValue"]
      # A complete ARN names the secret; a partial one (without Secrets Manager's random
      # 6-character suffix) matches exactly one suffix: "-??????", never "*".
      resources = flatten([for a in local.secretsmanager_arns : [a, "${a}-??????"]])
    }
  }

  dynamic "statement" {
    for_each = var.log_kms_key_arn == null ? [] : [1]
    content {
      sid       = "DecryptWithLogKey"
      actions   = ["kms:Decrypt"]
      resources = [var.log_kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  count  = local.stage_part && (length(local.fargate_jobs) > 0 && var.execution_role_arn == null) ? 1 : 0
  name   = "${local.prefix}-exec"
  role   = aws_iam_role.execution[0].id
  policy = data.aws_iam_policy_document.execution[0].json
}

# --- task roles: the job's own permissions ---------------------------------------------------

resource "aws_iam_role" "task" {
  for_each           = local.job_part ? local.created_task_roles : {}
  name               = "${local.prefix}-${each.key}"
  path               = local.role_path
  description        = "Permissions of the ${local.prefix}-${each.key} job"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
  tags               = local.job_tags[each.key]
}

resource "aws_iam_role_policy" "task" {
  for_each = local.job_part ? { for k, j in local.created_task_roles : k => j if j.policy_json != null } : {}
  name     = "${local.prefix}-${each.key}"
  role     = local.task_role_ids[each.key]
  policy   = each.value.policy_json
}

# --- the scheduler's role (EventBridge Scheduler or rules) ----------------------------------

data "aws_iam_policy_document" "scheduler_trust" {
  count = local.stage_part ? 1 : 0
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = [local.use_scheduler ? "scheduler.amazonaws.com" : "events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values = [local.use_scheduler ? local.group_arn :
      "arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.prefix}-*"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  count              = local.stage_part && (length(local.scheduled_jobs) > 0) ? 1 : 0
  name               = "${local.prefix}-${local.use_scheduler ? "scheduler" : "events"}"
  path               = local.role_path
  description        = "Starts the scheduled jobs of ${local.prefix}"
  assume_role_policy = data.aws_iam_policy_document.scheduler_trust[0].json
  tags               = var.tags
}

# How a principal may start this stage's tasks: RunTask on exactly its jobs' families in the
# stage's cluster, PassRole on exactly the roles handed to ECS, TagResource for RunTask only.
# The scheduler (jobs started directly), the runner and the workflows each get their own.
data "aws_iam_policy_document" "start_tasks" {
  for_each = { for who, grant in {
    scheduler = { families = local.direct_families, roles = concat(local.passed_roles, local.given_roles), used = length(local.direct_fargate) > 0 }
    runner    = { families = local.runner_families, roles = local.runner_passed_roles, used = length(local.runner_fargate) > 0 }
    workflows = { families = local.workflow_families, roles = local.workflow_passed_roles, used = length(local.workflow_fargate) > 0 }
  } : who => grant if grant.used && local.stage_part }

  statement {
    sid       = "RunJobTasks"
    actions   = ["ecs:RunTask"]
    resources = each.value.families
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "PassJobRoles"
    actions   = ["iam:PassRole"]
    resources = each.value.roles
    condition {
      test     = "StringLike"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "TagStartedTasks"
    actions   = ["ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account}:task/${local.cluster_name}/*"]
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }
}

data "aws_iam_policy_document" "scheduler" {
  count                   = local.stage_part && (length(local.scheduled_jobs) > 0) ? 1 : 0
  source_policy_documents = [for who, doc in data.aws_iam_policy_document.start_tasks : doc.json if who == "scheduler"]

  dynamic "statement" {
    for_each = length([for k, j in local.direct_jobs : k if j.compute == "lambda"]) > 0 && local.use_scheduler ? [1] : []
    content {
      sid     = "InvokeJobFunctions"
      actions = ["lambda:InvokeFunction"]
      resources = [for k, j in local.direct_jobs :
      "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${local.prefix}-${k}" if j.compute == "lambda"]
    }
  }

  dynamic "statement" {
    for_each = length([for k, j in local.scheduled_jobs : k if contains(keys(local.runner_jobs), k)]) > 0 ? [1] : []
    content {
      sid       = "StartRunner"
      actions   = ["states:StartExecution"]
      resources = [local.runner_arn]
    }
  }

  dynamic "statement" {
    for_each = local.has_dlq ? [1] : []
    content {
      sid       = "DeadLetters"
      actions   = ["sqs:SendMessage"]
      resources = [local.dlq_arn]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  count  = local.stage_part && (length(local.scheduled_jobs) > 0) ? 1 : 0
  name   = aws_iam_role.scheduler[0].name
  role   = aws_iam_role.scheduler[0].id
  policy = data.aws_iam_policy_document.scheduler[0].json
}

# --- Lambda jobs: a role per function (its own permissions and its own log group) -----------

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    # Confused-deputy guard: only Lambda acting for this account. (No aws:SourceArn: Lambda
    # does not send one when it assumes an execution role.)
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.job_part ? local.created_fn_roles : {}
  name               = "${local.prefix}-${each.key}"
  path               = local.role_path
  description        = "Permissions of the ${local.prefix}-${each.key} function"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
  tags               = local.job_tags[each.key]
}

data "aws_iam_policy_document" "function" {
  for_each                = local.job_part ? local.created_fn_roles : {}
  source_policy_documents = each.value.policy_json == null ? [] : [each.value.policy_json]

  statement {
    sid     = "FargoWriteLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # Built from the name, not the resource: a data source that depends on a resource with
    # pending changes is re-read at apply, which would show every function policy as changing.
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${local.prefix}-${each.key}:*"]
  }

  # The queues and streams that invoke the function (sources.tf): Lambda reads them with the
  # function's role.
  dynamic "statement" {
    for_each = local.source_reads[each.key]
    content {
      sid       = "FargoRead${title(statement.key)}"
      actions   = local.source_actions[statement.key]
      resources = statement.value
    }
  }

  # A function in a VPC manages its network interfaces: the actions of AWS's managed
  # AWSLambdaVPCAccessExecutionRole, on "*" as there (Lambda checks them at CreateFunction, and
  # CreateNetworkInterface has no resource it could be scoped to before the interface exists).
  dynamic "statement" {
    for_each = length(local.job_subnets[each.key]) > 0 ? [1] : []
    content {
      sid = "FargoVpcNetworkInterfaces"
      actions = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "function" {
  #checkov:skip=CKV_AWS_290:only a Lambda job in a VPC gets write actions on "*": its network interfaces, which cannot be named before Lambda creates them (AWS's own AWSLambdaVPCAccessExecutionRole does the same)
  #checkov:skip=CKV_AWS_355:the same network-interface actions; every other statement names its resources
  for_each = local.job_part ? local.created_fn_roles : {}
  name     = "${local.prefix}-${each.key}"
  role     = local.function_role_ids[each.key]
  policy   = local.function_policies[each.key]
}
