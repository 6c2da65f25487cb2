# What invokes a Lambda job besides its schedule, as Chalice deploys on_sns_message,
# on_sqs_message, on_dynamodb_record and on_kinesis_record: an SNS subscription (with the
# permission that lets the topic invoke the function), or an event source mapping of an SQS
# queue or a DynamoDB or Kinesis stream (the function's role may read exactly that source).
# A topic, queue or Kinesis stream may be named; a name is in the stage's account and region.

locals {
  event_sources = { for s in flatten([for k, j in local.part_jobs : [
    for i, s in j.event_sources : merge(s, {
      job = k
      key = "${k}/${i}"
      arn = (
        s.type == "sns" ? (startswith(s.topic, "arn:") ? s.topic : "arn:${local.partition}:sns:${local.region}:${local.account}:${s.topic}") :
        s.type == "sqs" ? (startswith(s.queue, "arn:") ? s.queue : "arn:${local.partition}:sqs:${local.region}:${local.account}:${s.queue}") :
        s.type == "kinesis" ? (startswith(s.stream, "arn:") ? s.stream : "arn:${local.partition}:kinesis:${local.region}:${local.account}:stream/${s.stream}") :
        s.stream
      )
    })
  ] if j.compute == "lambda"]) : s.key => s }
  subscriptions = { for k, s in local.event_sources : k => s if s.type == "sns" }
  mappings      = { for k, s in local.event_sources : k => s if s.type != "sns" }
  # What a function's role needs to read each kind of source (Lambda polls with it).
  source_actions = {
    sqs      = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    dynamodb = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
    kinesis  = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard"]
  }
  # Per function: one statement per kind of source it reads, on exactly those sources.
  source_reads = { for k, j in local.part_jobs : k => {
    for type in distinct([for s in values(local.mappings) : s.type if s.job == k]) :
    type => [for s in values(local.mappings) : s.arn if s.job == k && s.type == type]
  } if j.compute == "lambda" }
}

resource "aws_lambda_permission" "sns" {
  for_each      = local.subscriptions
  statement_id  = "fargo-sns-${md5(each.value.arn)}"
  action        = "lambda:InvokeFunction"
  function_name = local.function_names[each.value.job]
  principal     = "sns.amazonaws.com"
  source_arn    = each.value.arn
}

resource "aws_sns_topic_subscription" "job" {
  for_each  = local.subscriptions
  topic_arn = each.value.arn
  protocol  = "lambda"
  endpoint  = local.function_arns[each.value.job]

  depends_on = [aws_lambda_permission.sns]
}

resource "aws_lambda_event_source_mapping" "job" {
  for_each                           = local.mappings
  event_source_arn                   = each.value.arn
  function_name                      = local.function_arns[each.value.job]
  batch_size                         = each.value.batch_size
  maximum_batching_window_in_seconds = coalesce(each.value.batch_window, 0) > 0 ? each.value.batch_window : null
  starting_position                  = each.value.type == "sqs" ? null : coalesce(each.value.starting_position, "LATEST")

  dynamic "scaling_config" {
    for_each = each.value.maximum_concurrency == null ? [] : [each.value.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  # Lambda checks at creation that the function's role may read the source.
  depends_on = [aws_iam_role_policy.function]
}
