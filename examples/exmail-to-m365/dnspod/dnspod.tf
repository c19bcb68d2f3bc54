# DNS at DNSPod (tencentcloud_dnspod_record). Copy this file and dnspod_override.tf next to
# main.tf, run `terraform init`, and set dns_provider = "dnspod". They are kept apart so that the
# configuration plans and applies with dns_provider = "manual" without downloading the
# tencentcloud provider: Terraform needs every provider a configuration names, even with count = 0.

# Credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY.
provider "tencentcloud" {}

locals {
  dnspod = var.dns_provider == "dnspod"
}

# Phase 1: the verification TXT. Its key is known at plan time, so this runs in the same apply
# that adds the domain, and m365_domain_verification retries until Microsoft sees it.
resource "tencentcloud_dnspod_record" "verification" {
  for_each = { for k, r in m365_domain.company.verification_records : k => r if local.dnspod && k == "verification_txt" }

  domain      = m365_domain.company.name
  sub_domain  = each.value.name
  record_type = each.value.type
  record_line = "默认"
  value       = each.value.value
  ttl         = 600
}

# Phase 2: MX, autodiscover, SPF (and msoid for 21Vianet), with DNSPod's MX priority range.
resource "tencentcloud_dnspod_record" "m365" {
  for_each = var.cutover && local.dnspod ? data.m365_dns_records.cutover[0].dnspod_records : {}

  domain      = each.value.domain
  sub_domain  = each.value.sub_domain
  record_type = each.value.record_type
  record_line = each.value.record_line
  value       = each.value.value
  mx          = each.value.mx
  ttl         = each.value.ttl
  remark      = each.value.remark
}

# Exmail's MX and SPF records are deleted by importing them into this resource and removing them
# from the configuration, or in the DNSPod console; `records_to_remove` lists them:
#   terraform import 'tencentcloud_dnspod_record.exmail["exmail_mx1"]' <domain>#<record id>
# A record created here cannot "delete" one made elsewhere, so this is left to you.

# The time Terraform switched MX: the final sync runs right after it, and the batch may be
# removed 72 hours later.
resource "terraform_data" "mx_switch" {
  count = var.cutover && local.dnspod ? 1 : 0

  input            = plantimestamp()
  triggers_replace = [for k, r in tencentcloud_dnspod_record.m365 : r.id if k == "mx"]

  lifecycle {
    ignore_changes = [input]
  }
}
