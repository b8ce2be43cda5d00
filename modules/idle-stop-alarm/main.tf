# Stops an EC2 instance after a long stretch of near-zero CPU.
# A backstop for the on-instance autostop agent: if the agent dies, this still fires.
# Plain Terraform, usable outside envctl; works on hashicorp/aws 3.39 and 6.x.

variable "instance_id" {
  type        = string
  description = "The instance to watch and stop."
}

variable "region" {
  type        = string
  description = "Region of the instance; the stop action ARN names it."
}

variable "alarm_name" {
  type        = string
  description = "Name of the CloudWatch alarm."
}

variable "idle_hours" {
  type        = number
  default     = 3
  description = "Hours of average CPU below cpu_threshold before the instance is stopped."
}

variable "cpu_threshold" {
  type        = number
  default     = 2
  description = "Average CPU utilisation, in percent, that counts as idle."
}

resource "aws_cloudwatch_metric_alarm" "idle_stop" {
  alarm_name          = var.alarm_name
  alarm_description   = "Stops ${var.instance_id} after ${var.idle_hours} h below ${var.cpu_threshold}% CPU"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 3600
  evaluation_periods  = var.idle_hours
  comparison_operator = "LessThanThreshold"
  threshold           = var.cpu_threshold
  treat_missing_data  = "notBreaching"
  dimensions = {
    InstanceId = var.instance_id
  }
  alarm_actions = ["arn:aws:automate:${var.region}:ec2:stop"]
}

output "alarm_name" {
  value = aws_cloudwatch_metric_alarm.idle_stop.alarm_name
}
