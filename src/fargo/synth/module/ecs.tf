resource "aws_ecs_task_definition" "job" {
  #checkov:skip=CKV_AWS_336:ETL jobs often write scratch files next to their code; readonly_root_filesystem = true turns it on (/tmp stays writable)
  for_each                 = local.job_part ? local.fargate_jobs : {}
  family                   = "${local.prefix}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(each.value.cpu)
  memory                   = tostring(each.value.memory)
  execution_role_arn       = local.execution_role_arn
  task_role_arn            = each.value.task_role_arn != null ? each.value.task_role_arn : local.task_role_arns[each.key]

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = each.value.architecture == "arm64" ? "ARM64" : "X86_64"
  }

  dynamic "ephemeral_storage" {
    for_each = each.value.ephemeral_storage_gib == null ? [] : [each.value.ephemeral_storage_gib]
    content {
      size_in_gib = ephemeral_storage.value
    }
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name       = "job"
    image      = var.image
    essential  = true
    entryPoint = ["python", "-m", "fargo.runtime"]
    command    = [each.key]
    # Container memory equals the task's: the job gets all of it (and ECS APIs that expect a
    # container-level value are satisfied).
    memory = each.value.memory
    environment = [for name in sort(keys(local.job_environment[each.key])) : {
      name  = name
      value = local.job_environment[each.key][name]
    }]
    secrets = [for name in sort(keys(each.value.secrets)) : {
      name      = name
      valueFrom = each.value.secrets[name]
    }]
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    readonlyRootFilesystem = var.readonly_root_filesystem
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = local.log_group_names[each.key]
        awslogs-region        = local.region
        awslogs-stream-prefix = "fargo"
      }
    }
  }])

  tags = local.job_tags[each.key]

  lifecycle {
    precondition {
      condition     = var.image != null
      error_message = "Fargate jobs need an image: set var.image (fargo build prints it)."
    }
  }
}

locals {
  job_environment = { for k, j in var.jobs : k => merge(j.environment, {
    FARGO_APP     = var.app_name
    FARGO_STAGE   = var.stage
    FARGO_TASK    = k
    FARGO_TIMEOUT = tostring(j.timeout)
    FARGO_MEMORY  = tostring(j.memory)
  }) }
}
