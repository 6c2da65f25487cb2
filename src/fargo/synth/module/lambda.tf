resource "aws_lambda_function" "job" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing is for request paths; scheduled batch jobs log JSON lines instead
  #checkov:skip=CKV_AWS_116:invoked by the scheduler, whose retry policy and dead-letter queue cover failed deliveries
  #checkov:skip=CKV_AWS_117:a Lambda job runs in a VPC when it (or its stage) has subnets; jobs without them need none
  #checkov:skip=CKV_AWS_115:reserved concurrency is the job's reserved_concurrency setting; unset, the function shares the account's pool (Chalice's default too)
  #checkov:skip=CKV_AWS_173:environment values are plain configuration; secrets belong in SSM or Secrets Manager, read by the job at run time
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile owned by the team; the zip is hashed by source_code_hash
  for_each         = local.job_part ? local.lambda_jobs : {}
  function_name    = "${local.prefix}-${each.key}"
  description      = "${each.value.description}${local.function_after[each.key]}" # ordering: refs.tf
  role             = each.value.task_role_arn != null ? each.value.task_role_arn : local.function_role_arns[each.key]
  handler          = "fargo.runtime.lambda_handler"
  runtime          = var.lambda_runtime
  filename         = var.lambda_package
  source_code_hash = var.lambda_package == null ? null : filebase64sha256(var.lambda_package)
  memory_size      = each.value.memory
  timeout          = each.value.timeout
  architectures    = [each.value.architecture]
  layers           = each.value.layers
  # -1 is the provider's "unreserved".
  reserved_concurrent_executions = each.value.reserved_concurrency != null ? each.value.reserved_concurrency : -1

  dynamic "vpc_config" {
    for_each = length(local.job_subnets[each.key]) > 0 ? [1] : []
    content {
      subnet_ids         = local.job_subnets[each.key]
      security_group_ids = local.job_security_groups[each.key]
    }
  }

  environment {
    variables = local.job_environment[each.key]
  }

  tags = local.job_tags[each.key]

  lifecycle {
    precondition {
      condition     = var.lambda_package != null
      error_message = "Lambda jobs need var.lambda_package (fargo package writes it)."
    }
  }
}
