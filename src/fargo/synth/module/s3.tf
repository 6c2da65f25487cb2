# Lambda jobs started by S3 object events, as Chalice deploys on_s3_event: the bucket's own
# notifications invoke the function (a Fargate job gets S3 events through EventBridge instead,
# see events.tf). aws_s3_bucket_notification holds a bucket's whole notification
# configuration, so every trigger of this stage on one bucket is in one resource.

locals {
  s3_triggers = flatten([for k, j in var.jobs : [
    for i, n in j.s3_notifications : merge(n, { job = k, id = "${local.prefix}-${k}-${i}" })
  ] if j.compute == "lambda"])
  s3_permissions = { for t in local.s3_triggers : "${t.job}/${t.bucket}" => t... }
  # Buckets whose events reach this stage's Fargate jobs through EventBridge.
  s3_eventbridge = toset(flatten([for k, j in var.jobs : j.s3_buckets if j.compute == "fargate"]))
}

resource "aws_lambda_permission" "s3" {
  for_each       = local.job_part ? local.s3_permissions : {}
  statement_id   = "fargo-s3-${replace(each.value[0].bucket, ".", "-")}"
  action         = "lambda:InvokeFunction"
  function_name  = local.function_names[each.value[0].job]
  principal      = "s3.amazonaws.com"
  source_arn     = "arn:${local.partition}:s3:::${each.value[0].bucket}"
  source_account = local.account
}

resource "aws_s3_bucket_notification" "lambda" {
  for_each = local.job_part ? toset([for t in local.s3_triggers : t.bucket]) : toset([])
  bucket   = each.key
  # The bucket's whole configuration is this resource's: keep its EventBridge events on
  # where a Fargate job of the stage needs them.
  eventbridge = contains(local.s3_eventbridge, each.key)

  dynamic "lambda_function" {
    for_each = [for t in local.s3_triggers : t if t.bucket == each.key]
    content {
      id                  = lambda_function.value.id
      lambda_function_arn = local.function_arns[lambda_function.value.job]
      events              = lambda_function.value.events
      filter_prefix       = lambda_function.value.prefix
      filter_suffix       = lambda_function.value.suffix
    }
  }

  depends_on = [aws_lambda_permission.s3]
}
