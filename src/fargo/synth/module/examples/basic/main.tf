# Two jobs of an app "shop" in stage "dev": a nightly Fargate job and an hourly Lambda job.
terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "jobs" {
  source = "../.."

  app_name        = "shop"
  stage           = "dev"
  image           = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:2024-06-01"
  subnets         = ["subnet-0123456789abcdef0"]
  security_groups = ["sg-0123456789abcdef0"]
  lambda_package  = "${path.module}/lambda.zip"

  jobs = {
    nightly_export = {
      schedule    = "cron(30 2 * * ? *)"
      timezone    = "Europe/Berlin"
      cpu         = 1024
      memory      = 4096
      timeout     = 7200
      environment = { TARGET = "s3://shop-exports" }
      secrets     = { DB_PASSWORD = "/shop/dev/db-password" }
      policy_json = jsonencode({
        Version   = "2012-10-17"
        Statement = [{ Effect = "Allow", Action = ["s3:PutObject"], Resource = "arn:aws:s3:::shop-exports/*" }]
      })
    }
    hourly_ping = {
      compute  = "lambda"
      schedule = "rate(1 hour)"
      memory   = 128
      timeout  = 30
    }
  }
}

output "jobs" {
  value = module.jobs.jobs
}
