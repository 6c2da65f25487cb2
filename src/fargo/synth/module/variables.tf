variable "app_name" {
  description = "Application name. Every resource is named <app>-<stage>-<job>."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", var.app_name))
    error_message = "app_name: letters, digits, '-' and '_', at most 40 characters."
  }
}

variable "stage" {
  description = "Stage name (dev, prod, ...)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$", var.stage))
    error_message = "stage: letters, digits, '-' and '_', at most 20 characters."
  }
}

variable "image" {
  description = "Container image of the stage's Fargate jobs; its entrypoint runs `python -m fargo.runtime`."
  type        = string
  default     = null
}

variable "cluster_name" {
  description = "ECS cluster that runs the Fargate jobs (default: <app>-<stage>)."
  type        = string
  default     = null
}

variable "cluster_arn" {
  description = "An existing ECS cluster by ARN (in the provider's region); overrides cluster_name. Set create_cluster = false with it."
  type        = string
  default     = null

  validation {
    condition     = var.cluster_arn == null || can(regex("^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$", var.cluster_arn))
    error_message = "cluster_arn: arn:aws:ecs:<region>:<account>:cluster/<name>."
  }
}

variable "execution_role_arn" {
  description = "An existing ECS task execution role for the Fargate jobs (default: <app>-<stage>-exec is created)."
  type        = string
  default     = null
}

variable "create_cluster" {
  description = "Create the ECS cluster (with FARGATE and FARGATE_SPOT capacity providers)."
  type        = bool
  default     = true
}

variable "container_insights" {
  description = "Enable CloudWatch Container Insights on a created cluster (extra cost)."
  type        = bool
  default     = false
}

variable "subnets" {
  description = "Subnet ids for the Fargate tasks (awsvpc)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.subnets : can(regex("^subnet-[0-9a-f]{8,17}$", s))]) && length(var.subnets) <= 16
    error_message = "subnets: up to 16 ids such as subnet-0abc1234."
  }
}

variable "security_groups" {
  description = "Security group ids for the Fargate tasks."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.security_groups : can(regex("^sg-[0-9a-f]{8,17}$", s))]) && length(var.security_groups) <= 5
    error_message = "security_groups: up to 5 ids such as sg-0abc1234."
  }
}

variable "assign_public_ip" {
  description = "Give Fargate tasks a public IP (needed in public subnets without a NAT gateway)."
  type        = bool
  default     = false
}

variable "platform_version" {
  description = "Fargate platform version."
  type        = string
  default     = "LATEST"
}

variable "schedule_backend" {
  description = "\"scheduler\" (EventBridge Scheduler: time zones, retries, one-time at()) or \"rules\" (EventBridge rules, UTC only)."
  type        = string
  default     = "scheduler"

  validation {
    condition     = contains(["scheduler", "rules"], var.schedule_backend)
    error_message = "schedule_backend: \"scheduler\" or \"rules\"."
  }
}

variable "retry_attempts" {
  description = "Times the scheduler retries starting a job that failed to start (0-185)."
  type        = number
  default     = 2

  validation {
    condition     = var.retry_attempts >= 0 && var.retry_attempts <= 185
    error_message = "retry_attempts: 0-185."
  }
}

variable "maximum_event_age_seconds" {
  description = "Give up starting a job this long after its scheduled time (60-86400). Small: an ETL job must not start hours late."
  type        = number
  default     = 900

  validation {
    condition     = var.maximum_event_age_seconds >= 60 && var.maximum_event_age_seconds <= 86400
    error_message = "maximum_event_age_seconds: 60-86400."
  }
}

variable "create_dead_letter_queue" {
  description = "Create an SQS dead-letter queue for schedule invocations that could not be delivered."
  type        = bool
  default     = false
}

variable "dead_letter_queue_arn" {
  description = "An existing standard (not FIFO) SQS queue for undeliverable invocations."
  type        = string
  default     = null
}

variable "log_kms_key_arn" {
  description = "KMS key for the log groups (optional)."
  type        = string
  default     = null
}

variable "lambda_package" {
  description = "Path of the Lambda zip for compute = \"lambda\" jobs."
  type        = string
  default     = null
}

variable "lambda_runtime" {
  description = "Lambda runtime of the lambda jobs."
  type        = string
  default     = "python3.11"
}

variable "tags" {
  description = "Tags on every resource."
  type        = map(string)
  default     = {}
}

variable "jobs" {
  description = "Jobs by name. Names become part of AWS names: letters, digits, '_' and '-'. `runner` sends a job through the stage's runner (retries, overlap, timeout; default: when it has retries or an overlap guard); `event_pattern` (JSON) starts it on matching EventBridge events too (a Fargate job through the runner); `event_fields` (name -> JSONPath) are the detail fields a Fargate job still gets when an event does not fit ECS's 8 KB of container overrides; `step_of` are state machines of your own that run a Fargate job as a step (its role may answer their task tokens); `s3_buckets` are the buckets whose events reach a Fargate job through EventBridge; `s3_notifications` invoke a Lambda job on a bucket's object events, as Chalice's on_s3_event (the module then owns those buckets' notification configuration); `event_sources` invoke a Lambda job from an SNS topic (`topic`), an SQS queue (`queue`) or a DynamoDB or Kinesis stream (`stream`), each a name in the stage's account and region or an ARN, as Chalice's on_sns_message, on_sqs_message, on_dynamodb_record and on_kinesis_record."
  type = map(object({
    compute                 = optional(string, "fargate")
    schedule                = optional(string)
    timezone                = optional(string, "UTC")
    enabled                 = optional(bool, true)
    description             = optional(string, "")
    cpu                     = optional(number, 256)
    memory                  = optional(number, 512)
    ephemeral_storage_gib   = optional(number)
    architecture            = optional(string, "x86_64")
    spot                    = optional(bool, false)
    subnets                 = optional(list(string))
    security_groups         = optional(list(string))
    task_role_arn           = optional(string)
    reserved_concurrency    = optional(number)
    layers                  = optional(list(string), [])
    timeout                 = optional(number, 3600)
    environment             = optional(map(string), {})
    secrets                 = optional(map(string), {})
    policy_json             = optional(string)
    tags                    = optional(map(string), {})
    log_retention_days      = optional(number, 30)
    flexible_window_minutes = optional(number)
    start_date              = optional(string)
    end_date                = optional(string)
    retries                 = optional(number, 0)
    retry_timeouts          = optional(bool, false)
    overlap                 = optional(string, "skip")
    runner                  = optional(bool)
    event_pattern           = optional(string)
    event_fields            = optional(map(string), {})
    s3_buckets              = optional(list(string), [])
    step_of                 = optional(list(string), [])
    s3_notifications = optional(list(object({
      bucket = string
      events = list(string)
      prefix = optional(string)
      suffix = optional(string)
    })), [])
    event_sources = optional(list(object({
      type                = string
      topic               = optional(string)
      queue               = optional(string)
      stream              = optional(string)
      batch_size          = optional(number)
      batch_window        = optional(number)
      starting_position   = optional(string)
      maximum_concurrency = optional(number)
    })), [])
  }))

  validation {
    condition     = alltrue([for k, j in var.jobs : can(regex("^[A-Za-z0-9_-]+$", k))])
    error_message = "jobs: names may contain only letters, digits, '_' and '-'."
  }
  validation {
    condition = alltrue(flatten([for k, j in var.jobs : [for s in j.event_sources : j.compute == "lambda" && (
      s.type == "sns" ? s.topic != null : s.type == "sqs" ? s.queue != null : contains(["dynamodb", "kinesis"], s.type) && s.stream != null
    )]]))
    error_message = "jobs[*].event_sources: Lambda jobs only; each is {type = \"sns\", topic}, {type = \"sqs\", queue} or {type = \"dynamodb\" or \"kinesis\", stream}."
  }
  validation {
    condition     = alltrue([for k, j in var.jobs : contains(["fargate", "lambda"], j.compute)])
    error_message = "jobs[*].compute: \"fargate\" or \"lambda\"."
  }
  validation {
    condition = alltrue([for k, j in var.jobs : j.compute != "fargate" || contains(
      j.cpu == 256 ? [512, 1024, 2048] :
      j.cpu == 512 ? range(1024, 4097, 1024) :
      j.cpu == 1024 ? range(2048, 8193, 1024) :
      j.cpu == 2048 ? range(4096, 16385, 1024) :
      j.cpu == 4096 ? range(8192, 30721, 1024) :
      j.cpu == 8192 ? range(16384, 61441, 4096) :
      j.cpu == 16384 ? range(32768, 122881, 8192) : [],
    j.memory)])
    error_message = "jobs[*]: cpu/memory is not a Fargate size (256: 512/1024/2048; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384 by 1024; 4096: 8192-30720 by 1024; 8192: 16384-61440 by 4096; 16384: 32768-122880 by 8192)."
  }
  validation {
    condition     = alltrue([for k, j in var.jobs : j.compute != "lambda" || (j.memory >= 128 && j.memory <= 10240 && j.timeout <= 900)])
    error_message = "jobs[*]: Lambda jobs need memory 128-10240 MB and timeout <= 900 s; move bigger jobs to Fargate."
  }
  validation {
    condition     = alltrue([for k, j in var.jobs : j.ephemeral_storage_gib == null || (coalesce(j.ephemeral_storage_gib, 21) >= 21 && coalesce(j.ephemeral_storage_gib, 21) <= 200)])
    error_message = "jobs[*].ephemeral_storage_gib: 21-200."
  }
  validation {
    condition     = alltrue([for k, j in var.jobs : contains(["skip", "queue", "allow"], j.overlap)])
    error_message = "jobs[*].overlap: \"skip\", \"queue\" or \"allow\"."
  }
  validation {
    condition     = alltrue([for k, j in var.jobs : j.retries >= 0 && j.retries <= 10 && floor(j.retries) == j.retries])
    error_message = "jobs[*].retries: a whole number 0-10."
  }
  validation {
    condition     = alltrue([for k, j in var.jobs : contains(["x86_64", "arm64"], j.architecture)])
    error_message = "jobs[*].architecture: \"x86_64\" or \"arm64\"."
  }
  validation {
    condition     = alltrue([for k, j in var.jobs : contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], j.log_retention_days)])
    error_message = "jobs[*].log_retention_days: one of CloudWatch's values (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
  validation {
    condition     = alltrue([for k, j in var.jobs : j.schedule == null || can(regex("^(rate|cron|at)\\(.*\\)$", coalesce(j.schedule, "rate(1 day)")))])
    error_message = "jobs[*].schedule: rate(...), cron(...) or at(...); fargo validate checks every field."
  }
}

variable "readonly_root_filesystem" {
  description = "Run job containers with a read-only root file system (/tmp stays writable)."
  type        = bool
  default     = false
}

variable "schedule_kms_key_arn" {
  description = "Customer managed KMS key for the schedules (optional)."
  type        = string
  default     = null
}

variable "record_runs" {
  description = "Record every stopped task of the stage (ECS Task State Change) in the log group /fargo/<app>/<stage>/_runs, which `fargo history` reads: ECS forgets stopped tasks after about an hour."
  type        = bool
  default     = true
}

variable "runs_retention_days" {
  description = "Retention of the run records."
  type        = number
  default     = 90
}

variable "create_alert_topic" {
  description = "Create an SNS topic <app>-<stage>-alerts for failed runs and undeliverable invocations."
  type        = bool
  default     = false
}

variable "alert_topic_arn" {
  description = "An existing SNS topic for the alerts (instead of creating one)."
  type        = string
  default     = null
}

variable "alert_emails" {
  description = "E-mail addresses subscribed to a created alert topic (each must confirm)."
  type        = list(string)
  default     = []
}

variable "workflows" {
  description = "Workflows by name: `definition` is the state machine's Amazon States Language (fargo writes it), `fargate_jobs` and `lambda_jobs` the jobs it runs, `schedule` (with `timezone`) starts it on EventBridge Scheduler."
  type = map(object({
    definition   = string
    fargate_jobs = optional(list(string), [])
    lambda_jobs  = optional(list(string), [])
    schedule     = optional(string)
    timezone     = optional(string, "UTC")
    enabled      = optional(bool, true)
    description  = optional(string)
  }))
  default = {}
}

variable "part" {
  description = "What this instance creates: \"all\" (the stage and its jobs), \"stage\" (the stage's shared resources, for every job in `jobs`) or \"jobs\" (the per-job resources of `jobs`, with `stage_refs` from a \"stage\" instance). Terraform's plan time grows with the square of a resource's instance count, so fargo splits a stage of many jobs into one \"stage\" instance and groups of \"jobs\" instances."
  type        = string
  default     = "all"

  validation {
    condition     = contains(["all", "stage", "jobs"], var.part)
    error_message = "part: \"all\", \"stage\" or \"jobs\"."
  }
}

variable "stage_refs" {
  description = "part = \"jobs\": the stage instance's outputs of the same names (execution_role_arn, scheduler_role_arn, schedule_group, runner_arn, event_rules_role_arn, dead_letter_queue_arn, account, region, partition)."
  type = object({
    execution_role_arn    = optional(string)
    scheduler_role_arn    = optional(string)
    schedule_group        = optional(string)
    runner_arn            = optional(string)
    event_rules_role_arn  = optional(string)
    dead_letter_queue_arn = optional(string)
    account               = optional(string)
    region                = optional(string)
    partition             = optional(string)
  })
  default = {}
}

variable "watchdog_package" {
  description = "Path of the watchdog's zip (fargo package writes it); null: no watchdog. The watchdog stops the stage's tasks still pending after pending_limit_seconds or running past their job's timeout, and alerts."
  type        = string
  default     = null
}

variable "watchdog_runtime" {
  description = "Lambda runtime of the watchdog (its code is the standard library and boto3)."
  type        = string
  default     = "python3.12"
}

variable "pending_limit_seconds" {
  description = "A task still PROVISIONING or PENDING after this many seconds is stopped by the watchdog, as a start that failed."
  type        = number
  default     = 600
  validation {
    condition     = var.pending_limit_seconds >= 60 && var.pending_limit_seconds <= 86400
    error_message = "pending_limit_seconds is 60 to 86400."
  }
}

variable "watchdog_every_minutes" {
  description = "How often the watchdog runs, in minutes (2 or more: rate() takes the plural)."
  type        = number
  default     = 5
  validation {
    condition     = var.watchdog_every_minutes >= 2 && var.watchdog_every_minutes <= 60 && floor(var.watchdog_every_minutes) == var.watchdog_every_minutes
    error_message = "watchdog_every_minutes is a whole number from 2 to 60."
  }
}

variable "deadline_checks" {
  description = "Jobs and workflows with a deadline (name -> where its success is recorded: ecs, runner, lambda or workflow). The watchdog checks them and alerts once per slot that missed its deadline; this grants it exactly those reads."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.deadline_checks : contains(["ecs", "runner", "lambda", "workflow"], v)])
    error_message = "Each deadline check reads ecs, runner, lambda or workflow."
  }
}
