# Values of other resources' instances, read once per plan. An instance whose arguments name
# `aws_x.y[each.key]` makes terraform read every instance of aws_x.y to evaluate them, so a
# stage of n jobs cost n² reads (1,000 jobs did not get past planning); `depends_on` between
# two for_each resources costs the same. Through these maps each resource is read once, and
# every instance looks its own value up.

locals {
  task_role_arns     = { for k, r in aws_iam_role.task : k => r.arn }
  task_role_ids      = { for k, r in aws_iam_role.task : k => r.id }
  function_role_arns = { for k, r in aws_iam_role.function : k => r.arn }
  function_role_ids  = { for k, r in aws_iam_role.function : k => r.id }
  function_policies  = { for k, d in data.aws_iam_policy_document.function : k => d.json }
  log_group_names    = { for k, g in aws_cloudwatch_log_group.job : k => g.name }
  function_arns      = { for k, f in aws_lambda_function.job : k => f.arn }
  function_names     = { for k, f in aws_lambda_function.job : k => f.function_name }
  event_rule_names   = { for k, r in aws_cloudwatch_event_rule.events : k => r.name }
  event_rule_arns    = { for k, r in aws_cloudwatch_event_rule.events : k => r.arn }
  timer_rule_names   = { for k, r in aws_cloudwatch_event_rule.job : k => r.name }
  timer_rule_arns    = { for k, r in aws_cloudwatch_event_rule.job : k => r.arn }
  workflow_arn_of    = { for k, m in aws_sfn_state_machine.workflow : k => m.arn }

  # A function is created after its log group (else Lambda makes one without retention) and
  # its role's policy (CreateFunction checks a VPC function's network permissions). Each entry
  # is "" and known at plan; naming it in an argument orders the function after both.
  function_after = { for k in keys(local.lambda_jobs) : k => join("", [
    for ready in [local.log_group_names, { for p, _ in aws_iam_role_policy.function : p => "" }] :
    substr(lookup(ready, k, ""), 0, 0)
  ]) }
}

# What the jobs' resources use of the stage's: its own resources, or (part = "jobs") what the
# stage's instance of the module hands over in var.stage_refs.
locals {
  schedule_group_name  = local.stage_part ? one(aws_scheduler_schedule_group.this[*].name) : var.stage_refs.schedule_group
  scheduler_role_arn   = local.stage_part ? one(aws_iam_role.scheduler[*].arn) : var.stage_refs.scheduler_role_arn
  runner_machine_arn   = local.stage_part ? one(aws_sfn_state_machine.runner[*].arn) : var.stage_refs.runner_arn
  event_rules_role_arn = local.stage_part ? one(aws_iam_role.event_rules[*].arn) : var.stage_refs.event_rules_role_arn
}
