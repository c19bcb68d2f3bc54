# DNSPod: the DKIM selector CNAMEs of m365_dkim.company (phase 2). Copy next to main.tf with the
# other dnspod/*.tf files.
resource "tencentcloud_dnspod_record" "dkim" {
  for_each = var.cutover && local.dnspod ? m365_dkim.company[0].dnspod_records : {}

  domain      = each.value.domain
  sub_domain  = each.value.sub_domain
  record_type = each.value.record_type
  record_line = each.value.record_line
  value       = each.value.value
  ttl         = each.value.ttl
  remark      = each.value.remark
}
